"""The per-site token vault (``tokens_by_cloud``), encrypted at rest, refreshed under a Redis lock.

One Fernet token under ``vault:{sid}`` holds, for each site of the session, its access token,
refresh token, expiry, scopes, name and URL. Atlassian grants one token pair per consent for all
its sites, so a refresh updates every site holding the same refresh token. Refresh tokens rotate and
a rotated-out one kills the whole family: refreshes are serialised per session with a Redis lock
(all workers), and after taking it we re-read the vault, since another worker may have refreshed
meanwhile (single flight).
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from redis.exceptions import RedisError

from accounts.context import UserContext
from accounts.errors import (
    AtlassianReauthRequired,
    AtlassianUnavailable,
    SessionExpired,
    SessionStoreUnavailable,
    SiteForbidden,
)
from accounts.store import LockTimeout, get_store
from core.http import build_async_client

logger = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 120  # refresh this long before expiry
RECENT_REFRESH_SECONDS = 10  # a token this fresh is not refreshed again on a 401
LOCK_TIMEOUT_SECONDS = 30.0
LOCK_WAIT_SECONDS = 20.0
# Token endpoint errors meaning the grant is gone: only new consent helps (docs/wire-facts.md 1.4).
REAUTH_ERRORS = {"invalid_grant", "unauthorized_client"}

# The access token this task last handed out, per session and site: a caller that got a 401 with
# it asks for a refresh, and if the vault already holds another token a peer refreshed first.
_handed_out: ContextVar[dict[tuple[str, str], str] | None] = ContextVar(
    "accounts_vault_handed_out", default=None
)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def vault_encrypt(tokens_by_cloud: dict[str, dict[str, Any]]) -> str:
    plaintext = json.dumps({"tokens_by_cloud": tokens_by_cloud}, separators=(",", ":"))
    return fernet().encrypt(plaintext.encode()).decode()


def vault_decrypt(blob: bytes | str) -> dict[str, dict[str, Any]]:
    token = blob.encode() if isinstance(blob, str) else blob
    try:
        data = json.loads(fernet().decrypt(token))
    except (InvalidToken, ValueError):
        logger.warning("token vault unreadable (wrong TOKEN_ENCRYPTION_KEY?): treated as absent")
        return {}
    tokens = data.get("tokens_by_cloud") if isinstance(data, dict) else None
    return tokens if isinstance(tokens, dict) else {}


def tokens_by_cloud_build(
    grant: dict[str, Any], sites: dict[str, dict[str, Any]], now: float | None = None
) -> dict[str, dict[str, Any]]:
    """The vault's content after a token exchange: one entry per site, all sharing the grant."""
    now = time.time() if now is None else now
    expires_at = now + int(grant.get("expires_in") or 3600)
    return {
        cloud_id: {
            "access_token": grant["access_token"],
            "refresh_token": grant.get("refresh_token") or "",
            "expires_at": expires_at,
            "refreshed_at": now,
            "scopes": site.get("scopes", []),
            "name": site.get("name", ""),
            "url": site.get("url", ""),
            "needs_reauth": False,
        }
        for cloud_id, site in sites.items()
    }


def vault_open(*, sid: str, grant: dict[str, Any], sites: dict[str, dict[str, Any]]) -> None:
    """Store the tokens of a fresh sign-in (sync: the sign-in view runs in a thread)."""
    from accounts.sessions import absolute_seconds

    blob = vault_encrypt(tokens_by_cloud_build(grant, sites))
    get_store().set_vault(sid, blob, absolute_seconds())


async def vault_read(sid: str) -> dict[str, dict[str, Any]] | None:
    try:
        blob = await get_store().aget_vault(sid)
    except RedisError as exc:
        raise SessionStoreUnavailable from exc
    return None if blob is None else vault_decrypt(blob)


def vault_summary(tokens: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What may be shown about the vault: never a token value."""
    return {
        cloud_id: {
            "name": entry.get("name"),
            "url": entry.get("url"),
            "scopes": entry.get("scopes"),
            "expires_in": int(entry.get("expires_at", 0) - time.time()),
            "needs_reauth": bool(entry.get("needs_reauth")),
        }
        for cloud_id, entry in tokens.items()
    }


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


async def access_token_get(ctx: UserContext, *, force_refresh: bool = False) -> str:
    """See :func:`accounts.context.access_token_get`."""
    entry = _entry(await vault_read(ctx.session_key), ctx.cloud_id)
    now = time.time()
    if not force_refresh and _fresh(entry, now):
        return _remember(ctx, entry["access_token"])
    suspect = (_handed_out.get() or {}).get((ctx.session_key, ctx.cloud_id))
    try:
        async with get_store().alock(ctx.session_key, LOCK_TIMEOUT_SECONDS, LOCK_WAIT_SECONDS):
            tokens = await vault_read(ctx.session_key)
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
            token = await _refresh(ctx.session_key, tokens, entry)
            return _remember(ctx, token)
    except LockTimeout as exc:
        raise AtlassianUnavailable("Another refresh of your Atlassian token is running.") from exc
    except RedisError as exc:
        raise SessionStoreUnavailable from exc


async def _refresh(sid: str, tokens: dict[str, dict[str, Any]], entry: dict[str, Any]) -> str:
    old_refresh = entry.get("refresh_token")
    if not old_refresh:
        _mark_reauth(tokens, old_refresh)
        await get_store().aset_vault(sid, vault_encrypt(tokens))
        raise AtlassianReauthRequired
    body = {
        "grant_type": "refresh_token",
        "client_id": settings.ATLASSIAN_CLIENT_ID,
        "client_secret": settings.ATLASSIAN_CLIENT_SECRET,
        "refresh_token": old_refresh,
    }
    try:
        async with build_async_client(connect_timeout=5.0, read_timeout=15.0) as client:
            response = await client.post(
                settings.ATLASSIAN_AUTH_URL + "/oauth/token",
                json=body,
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        logger.warning("Atlassian token refresh failed: %s", type(exc).__name__)
        raise AtlassianUnavailable from exc
    payload = _json_object(response)
    if response.status_code != 200:
        error = str(payload.get("error", ""))
        if response.status_code in (400, 401, 403) and (
            error in REAUTH_ERRORS or response.status_code == 403
        ):
            logger.info("Atlassian refused the refresh (%s): re-consent needed", error or "403")
            _mark_reauth(tokens, old_refresh)
            await get_store().aset_vault(sid, vault_encrypt(tokens))
            raise AtlassianReauthRequired
        logger.warning("Atlassian token refresh answered HTTP %s", response.status_code)
        raise AtlassianUnavailable
    access = payload.get("access_token")
    if not isinstance(access, str) or not access:
        raise AtlassianUnavailable("Atlassian sent an unreadable token response.")
    now = time.time()
    expires_at = now + int(payload.get("expires_in") or 3600)
    # Rotation: save the new refresh token at once, for every site of the same grant.
    new_refresh = payload.get("refresh_token") or old_refresh
    for other in tokens.values():
        if other.get("refresh_token") == old_refresh:
            other.update(
                access_token=access,
                refresh_token=new_refresh,
                expires_at=expires_at,
                refreshed_at=now,
            )
    await get_store().aset_vault(sid, vault_encrypt(tokens))
    return access


def _mark_reauth(tokens: dict[str, dict[str, Any]], refresh_token: str | None) -> None:
    for other in tokens.values():
        if other.get("refresh_token") == refresh_token:
            other["needs_reauth"] = True


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
