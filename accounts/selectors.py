"""Reads: the signed-in user of a session (requests, operator commands), the signed-in account
(``/me``) and the live sessions (admin, commands)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from accounts.context import UserContext
from accounts.errors import NotAuthenticated, SiteForbidden
from accounts.session_data import SessionData
from accounts.sessions import CREATED_KEY, absolute_seconds, decode, idle_seconds
from accounts.store import get_store
from accounts.vault import entry_needs_reauth, vault_read


class SessionNotUsable(Exception):
    """No live signed-in session with that id (or not on that site)."""


def session_user_context(
    session: SessionBase | Mapping[str, Any], *, session_key: str, cloud_id: str | None = None
) -> UserContext | None:
    """The signed-in user of ``session`` (its data) on ``cloud_id`` or its current site; None when
    it is not signed in, or was opened by the OAuth pipeline but ``login()`` never completed.
    Raises ``SiteForbidden`` for a site that is not one of the session's."""
    data = SessionData.read(session)
    if data.account_id is None or not data.sites:
        return None
    if "_auth_user_id" not in session:
        return None
    chosen = cloud_id or data.current_cloud_id
    if chosen is None or chosen not in data.sites:
        raise SiteForbidden
    return UserContext(
        account_id=data.account_id,
        display_name=data.display_name,
        session_key=session_key,
        cloud_id=chosen,
        site_url=data.sites[chosen].url,
    )


def session_context_get(*, sid: str, cloud_id: str | None = None) -> UserContext:
    """The :class:`UserContext` of live session ``sid`` (as ``sessions list`` shows it), outside a
    request (operator commands): the same checks as a request's (``accounts.auth``), each failure
    a ``SessionNotUsable`` that says which."""
    stored = get_store().get(sid)
    raw = decode(stored.raw) if stored is not None else None
    if raw is None:
        raise SessionNotUsable(f"No live session {sid!r}.")
    try:
        ctx = session_user_context(raw, session_key=sid, cloud_id=cloud_id)
    except SiteForbidden:
        chosen = cloud_id or SessionData.read(raw).current_cloud_id
        raise SessionNotUsable(f"Site {chosen!r} is not one of session {sid!r}'s sites.") from None
    if ctx is None:
        data = SessionData.read(raw)
        if data.account_id is not None and data.sites:
            raise SessionNotUsable(f"Session {sid!r} did not finish signing in.")
        raise SessionNotUsable(f"Session {sid!r} is not signed in.")
    return ctx


@dataclass(frozen=True)
class MeSite:
    cloud_id: str
    name: str
    url: str
    scopes: list[str]
    needs_reauth: bool


@dataclass(frozen=True)
class Me:
    """The signed-in account, its sites by name, and the current one."""

    account_id: str
    display_name: str
    avatar_url: str
    current_cloud_id: str
    sites: list[MeSite]


async def me_get(*, session: SessionBase) -> Me:
    """The signed-in account of ``session``, with each site's re-consent state from the vault."""
    data = SessionData.read(session)
    if data.account_id is None or data.current_cloud_id is None:
        raise NotAuthenticated
    tokens = await vault_read(sid=str(session.session_key)) or {}
    return Me(
        account_id=data.account_id,
        display_name=data.display_name,
        avatar_url=data.avatar_url,
        current_cloud_id=data.current_cloud_id,
        sites=[
            MeSite(
                cloud_id=cloud_id,
                name=site.name,
                url=site.url,
                scopes=list(site.scopes),
                needs_reauth=cloud_id not in tokens or entry_needs_reauth(tokens[cloud_id]),
            )
            for cloud_id, site in sorted(data.sites.items(), key=lambda kv: kv[1].name)
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


def session_info(*, sid: str) -> SessionInfo | None:
    stored = get_store().get(sid)
    if stored is None:
        return None
    raw = decode(stored.raw)
    if raw is None:
        return None
    data = SessionData.read(raw)
    now = time.time()
    created = float(raw[CREATED_KEY])
    ttl = stored.ttl if stored.ttl >= 0 else idle_seconds()
    # Every request slides the expiry back to the idle window, so the time left tells when the
    # session was last used (no write per request just to record it).
    last_seen = max(created, now - (idle_seconds() - ttl))
    return SessionInfo(
        sid=sid,
        account_id=data.account_id or "",
        display_name=data.display_name,
        sites=sorted(site.name for site in data.sites.values()),
        created=created,
        last_seen=last_seen,
        expires_in=max(0, min(ttl, int(created + absolute_seconds() - now))),
    )


def sessions_list(
    *, account_id: str | None = None, signed_in_only: bool = True
) -> list[SessionInfo]:
    store = get_store()
    sids = store.account_sids(account_id) if account_id else store.sids()
    infos = [info for sid in sids if (info := session_info(sid=sid)) is not None]
    if signed_in_only:
        infos = [info for info in infos if info.account_id]
    return sorted(infos, key=lambda info: info.last_seen, reverse=True)
