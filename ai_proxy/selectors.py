"""Reads of the ai_proxy app outside a request: the user of a live session (operator commands)."""

from __future__ import annotations

from accounts.context import UserContext
from accounts.sessions import decode
from accounts.store import get_store


class SessionNotUsable(Exception):
    """No live signed-in session with that id (or not on that site)."""


def session_context_get(*, sid: str, cloud_id: str | None = None) -> UserContext:
    """The :class:`UserContext` of live session ``sid`` (as ``sessions list`` shows it), on
    ``cloud_id`` or the session's current site; the same checks as ``accounts.auth``'s."""
    stored = get_store().get(sid)
    data = decode(stored.raw) if stored is not None else None
    if data is None:
        raise SessionNotUsable(f"No live session {sid!r}.")
    account_id, sites = data.get("account_id"), data.get("sites")
    if not isinstance(account_id, str) or not isinstance(sites, dict) or not sites:
        raise SessionNotUsable(f"Session {sid!r} is not signed in.")
    if "_auth_user_id" not in data:
        raise SessionNotUsable(f"Session {sid!r} did not finish signing in.")
    chosen = cloud_id or data.get("current_cloud_id")
    if not isinstance(chosen, str) or chosen not in sites:
        raise SessionNotUsable(f"Site {chosen!r} is not one of session {sid!r}'s sites.")
    return UserContext(
        account_id=account_id,
        display_name=str(data.get("display_name") or ""),
        session_key=sid,
        cloud_id=chosen,
        site_url=str(sites[chosen].get("url") or ""),
    )
