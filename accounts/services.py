"""Writes: the session's current site, the site's access token (refreshed when due) and session
revocation (admin, commands).

Refresh tokens rotate, and a rotated-out one kills the whole family: refreshes are serialised per
session with a Redis lock (all workers), and after taking it the vault is read again, since
another worker may have refreshed meanwhile (single flight).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any

from redis.exceptions import RedisError

from accounts.atlassian import AtlassianAuthClient
from accounts.context import UserContext
from accounts.errors import (
    AtlassianReauthRequired,
    AtlassianUnavailable,
    SessionExpired,
    SessionStoreUnavailable,
    SiteForbidden,
)
from accounts.scopes import JIRA_SOFTWARE_SCOPES, SIGN_IN_SCOPES
from accounts.session_data import CURRENT_CLOUD_ID, SessionData
from accounts.sessions import decode
from accounts.store import LockTimeout, get_store
from accounts.vault import vault_read, vault_write

REFRESH_MARGIN_SECONDS = 120  # refresh this long before expiry
RECENT_REFRESH_SECONDS = 10  # a token this fresh is not refreshed again on a 401
LOCK_TIMEOUT_SECONDS = 30.0
LOCK_WAIT_SECONDS = 20.0

# The access token this task last handed out, per session and site: a caller that got a 401 with
# it asks for a refresh, and if the vault already holds another token a peer refreshed first.
_handed_out: ContextVar[dict[tuple[str, str], str] | None] = ContextVar(
    "accounts_handed_out_tokens", default=None
)


def session_site_set(*, session: MutableMapping[str, Any], cloud_id: str) -> None:
    """Make ``cloud_id`` the session's current site; ``SiteForbidden`` if it is not one of its
    sites. In memory: the session middleware saves it."""
    if cloud_id not in SessionData.read(session).sites:
        raise SiteForbidden
    session[CURRENT_CLOUD_ID] = cloud_id


async def access_token_get(ctx: UserContext, *, force_refresh: bool = False) -> str:
    """The site's access token, refreshed shortly before expiry (or now, with ``force_refresh``,
    after Jira answered 401) under a Redis lock: one refresh at a time across all workers.

    Raises ``AtlassianReauthRequired`` (401) when Atlassian refuses the refresh,
    ``AtlassianUnavailable`` (502) when it cannot be reached, and ``SessionStoreUnavailable``
    (503) when Redis is down.
    """
    entry = _entry(await vault_read(sid=ctx.session_key), ctx.cloud_id)
    if not force_refresh and _fresh(entry, time.time()):
        return _remember(ctx, entry["access_token"])
    suspect = (_handed_out.get() or {}).get((ctx.session_key, ctx.cloud_id))
    try:
        async with get_store().alock(ctx.session_key, LOCK_TIMEOUT_SECONDS, LOCK_WAIT_SECONDS):
            tokens = await vault_read(sid=ctx.session_key)
            entry = _entry(tokens, ctx.cloud_id)
            now = time.time()
            if force_refresh:
                # Someone refreshed since this task got its (refused) token: use theirs.
                if suspect is not None and suspect != entry["access_token"]:
                    return _remember(ctx, entry["access_token"])
                if suspect is None and now - entry.get("refreshed_at", 0) < RECENT_REFRESH_SECONDS:
                    return _remember(ctx, entry["access_token"])
            elif _fresh(entry, now):
                return _remember(ctx, entry["access_token"])
            assert tokens is not None
            token = await _token_refresh(ctx.session_key, tokens, entry)
            return _remember(ctx, token)
    except LockTimeout as exc:
        raise AtlassianUnavailable("Another refresh of your Atlassian token is running.") from exc
    except RedisError as exc:
        raise SessionStoreUnavailable from exc


async def _token_refresh(sid: str, tokens: dict[str, dict[str, Any]], entry: dict[str, Any]) -> str:
    old_refresh = entry.get("refresh_token")
    try:
        if not old_refresh:
            raise AtlassianReauthRequired
        grant = await AtlassianAuthClient.from_settings().token_refresh(refresh_token=old_refresh)
    except AtlassianReauthRequired:
        # Every site of the grant is dead with it: /me shows them all as needing a new consent.
        for other in tokens.values():
            if other.get("refresh_token") == old_refresh:
                other["needs_reauth"] = True
        await vault_write(sid=sid, tokens=tokens)
        raise
    now = time.time()
    # Rotation: save the new refresh token at once, for every site of the same grant.
    for other in tokens.values():
        if other.get("refresh_token") == old_refresh:
            other.update(
                access_token=grant.access_token,
                refresh_token=grant.refresh_token or old_refresh,
                expires_at=now + grant.expires_in,
                refreshed_at=now,
            )
    await vault_write(sid=sid, tokens=tokens)
    return grant.access_token


async def site_scopes_refused_mark(ctx: UserContext) -> None:
    """Record that Jira refused the site's token for lacking a scope ("scope does not match"):
    ``/me`` then shows the site as ``needs_reauth`` until a new sign-in (a new vault).

    The missing scopes are those jira-ai asks for that the site's grant lacks (what
    ``accessible-resources`` listed at sign-in), or, when the list claims them all, every Jira
    Software one. Unlike a dead grant (``needs_reauth``), the token keeps serving the platform
    routes its scopes cover: summaries and analyses go on working, only boards and sprints need
    the new consent. Under the refresh lock: the vault is rewritten whole, and a write racing a
    refresh would bring back a rotated-out refresh token.
    """
    try:
        async with get_store().alock(ctx.session_key, LOCK_TIMEOUT_SECONDS, LOCK_WAIT_SECONDS):
            tokens = await vault_read(sid=ctx.session_key)
            entry = (tokens or {}).get(ctx.cloud_id)
            if tokens is None or entry is None:
                return
            granted = set(entry.get("scopes") or [])
            wanted = [s for s in SIGN_IN_SCOPES if s != "offline_access"]
            missing = [s for s in wanted if s not in granted] or list(JIRA_SOFTWARE_SCOPES)
            if entry.get("missing_scopes") == missing:
                return
            entry["missing_scopes"] = missing
            await vault_write(sid=ctx.session_key, tokens=tokens)
    except LockTimeout as exc:
        raise AtlassianUnavailable("Another refresh of your Atlassian token is running.") from exc
    except RedisError as exc:
        raise SessionStoreUnavailable from exc


async def site_has_scopes(ctx: UserContext, scopes: Iterable[str]) -> bool:
    """False when Jira already refused this site's token for one of ``scopes`` (recorded by
    :func:`site_scopes_refused_mark`): the report code may answer ``atlassian_reauth_required``
    at once instead of calling Jira again. True otherwise, including before any refusal: the
    scopes ``accessible-resources`` lists are not taken as proof of a missing scope (Atlassian
    does not document that the list names granular scopes, and a false "missing" would ask for
    a consent that cannot clear it)."""
    entry = _entry(await vault_read(sid=ctx.session_key), ctx.cloud_id)
    refused = set(entry.get("missing_scopes") or [])
    return not refused.intersection(scopes)


def _remember(ctx: UserContext, token: str) -> str:
    handed = dict(_handed_out.get() or {})
    handed[(ctx.session_key, ctx.cloud_id)] = token
    _handed_out.set(handed)
    return token


def _entry(tokens: dict[str, dict[str, Any]] | None, cloud_id: str) -> dict[str, Any]:
    if tokens is None:
        raise SessionExpired
    entry = tokens.get(cloud_id)
    if entry is None:
        raise SiteForbidden
    if entry.get("needs_reauth"):
        raise AtlassianReauthRequired
    return entry


def _fresh(entry: dict[str, Any], now: float) -> bool:
    return float(entry.get("expires_at", 0)) - now > REFRESH_MARGIN_SECONDS


def session_revoke(*, sid: str) -> bool:
    store = get_store()
    stored = store.get(sid)
    if stored is None:
        return False
    account_id = SessionData.read(decode(stored.raw) or {}).account_id
    store.delete([(sid, account_id)])
    return True


def account_sessions_revoke(*, account_id: str) -> int:
    store = get_store()
    sids = set(store.account_sids(account_id))
    # The index may miss a session (it is best effort): confirm with the sessions themselves.
    for sid in store.sids():
        stored = store.get(sid)
        data = decode(stored.raw) if stored is not None else None
        if data is not None and SessionData.read(data).account_id == account_id:
            sids.add(sid)
    live = [sid for sid in sids if store.get(sid) is not None]
    store.delete([(sid, account_id) for sid in sids])
    return len(live)


def sessions_revoke_all() -> int:
    store = get_store()
    count = 0
    for sid in store.sids():
        if session_revoke(sid=sid):
            count += 1
    return count
