"""Reads: the signed-in user of a session (requests, operator commands), the signed-in account
(``/me``) and the live sessions (admin, commands)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from accounts.context import UserContext
from accounts.errors import SiteForbidden
from accounts.schemas import MeOut, SiteOut
from accounts.sessions import CREATED_KEY, absolute_seconds, decode, idle_seconds
from accounts.store import get_store
from accounts.vault import vault_read


class SessionNotUsable(Exception):
    """No live signed-in session with that id (or not on that site)."""


def session_user_context(
    session: SessionBase | Mapping[str, Any], *, session_key: str, cloud_id: str | None = None
) -> UserContext | None:
    """The signed-in user of ``session`` (its data) on ``cloud_id`` or its current site; None when
    it is not signed in, or was opened by the OAuth pipeline but ``login()`` never completed.
    Raises ``SiteForbidden`` for a site that is not one of the session's."""
    account_id = session.get("account_id")
    sites = session.get("sites")
    if not isinstance(account_id, str) or not isinstance(sites, dict) or not sites:
        return None
    if "_auth_user_id" not in session:
        return None
    chosen = cloud_id or session.get("current_cloud_id")
    if not isinstance(chosen, str) or chosen not in sites:
        raise SiteForbidden
    return UserContext(
        account_id=account_id,
        display_name=str(session.get("display_name") or ""),
        session_key=session_key,
        cloud_id=chosen,
        site_url=str(sites[chosen].get("url") or ""),
    )


def session_context_get(*, sid: str, cloud_id: str | None = None) -> UserContext:
    """The :class:`UserContext` of live session ``sid`` (as ``sessions list`` shows it), outside a
    request (operator commands): the same checks as a request's (``accounts.auth``), each failure
    a ``SessionNotUsable`` that says which."""
    stored = get_store().get(sid)
    data = decode(stored.raw) if stored is not None else None
    if data is None:
        raise SessionNotUsable(f"No live session {sid!r}.")
    try:
        ctx = session_user_context(data, session_key=sid, cloud_id=cloud_id)
    except SiteForbidden:
        chosen = cloud_id or data.get("current_cloud_id")
        raise SessionNotUsable(f"Site {chosen!r} is not one of session {sid!r}'s sites.") from None
    if ctx is None:
        if isinstance(data.get("account_id"), str) and data.get("sites"):
            raise SessionNotUsable(f"Session {sid!r} did not finish signing in.")
        raise SessionNotUsable(f"Session {sid!r} is not signed in.")
    return ctx


async def me_get(*, request: HttpRequest) -> MeOut:
    session = request.session
    sites: dict[str, dict[str, Any]] = session.get("sites") or {}
    tokens = await vault_read(str(session.session_key)) or {}
    return MeOut(
        account_id=session["account_id"],
        display_name=session.get("display_name") or "",
        avatar_url=session.get("avatar_url") or "",
        current_cloud_id=session["current_cloud_id"],
        sites=[
            SiteOut(
                cloud_id=cloud_id,
                name=site.get("name", ""),
                url=site.get("url", ""),
                scopes=list(site.get("scopes", [])),
                needs_reauth=cloud_id not in tokens or bool(tokens[cloud_id].get("needs_reauth")),
            )
            for cloud_id, site in sorted(sites.items(), key=lambda kv: kv[1].get("name", ""))
        ],
    )


@dataclass(frozen=True)
class SessionInfo:
    sid: str
    account_id: str
    display_name: str
    sites: list[str]
    created: float
    last_seen: float
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_id": self.account_id,
            "display_name": self.display_name,
            "sites": self.sites,
            "created": self.created,
            "last_seen": self.last_seen,
            "expires_in": self.expires_in,
        }


def session_info(sid: str) -> SessionInfo | None:
    stored = get_store().get(sid)
    if stored is None:
        return None
    data = decode(stored.raw)
    if data is None:
        return None
    now = time.time()
    created = float(data[CREATED_KEY])
    ttl = stored.ttl if stored.ttl >= 0 else idle_seconds()
    # Every request slides the expiry back to the idle window, so the time left tells when the
    # session was last used (no write per request just to record it).
    last_seen = max(created, now - (idle_seconds() - ttl))
    sites = data.get("sites") or {}
    return SessionInfo(
        sid=sid,
        account_id=str(data.get("account_id") or ""),
        display_name=str(data.get("display_name") or ""),
        sites=sorted(str(site.get("name", cid)) for cid, site in sites.items()),
        created=created,
        last_seen=last_seen,
        expires_in=max(0, min(ttl, int(created + absolute_seconds() - now))),
    )


def sessions_list(
    *, account_id: str | None = None, signed_in_only: bool = True
) -> list[SessionInfo]:
    store = get_store()
    sids = store.account_sids(account_id) if account_id else store.sids()
    infos = [info for sid in sids if (info := session_info(sid)) is not None]
    if signed_in_only:
        infos = [info for info in infos if info.account_id]
    return sorted(infos, key=lambda info: info.last_seen, reverse=True)
