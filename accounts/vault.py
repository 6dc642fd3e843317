"""The per-site token vault (``tokens_by_cloud``), encrypted at rest: encryption and storage only.

One Fernet token under ``vault:{sid}`` holds, for each site of the session, its access token,
refresh token, expiry, scopes, name and URL, and whether it needs a new consent (``needs_reauth``:
the grant is dead; ``missing_scopes``: Jira refused the token for a scope it lacks). It lives
beside the session, not in it, so saving a session can never overwrite a rotated refresh token.
Refreshing is ``accounts.services``'s job.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from redis.exceptions import RedisError

from accounts.atlassian import TokenGrant
from accounts.errors import SessionStoreUnavailable
from accounts.session_data import SessionSite
from accounts.sessions import absolute_seconds
from accounts.store import get_store

logger = logging.getLogger(__name__)


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
    *, grant: TokenGrant, sites: Mapping[str, SessionSite], now: float | None = None
) -> dict[str, dict[str, Any]]:
    """The vault's content after a token exchange: one entry per site, all sharing the grant
    (Atlassian grants one token pair per consent for all its sites)."""
    now = time.time() if now is None else now
    return {
        cloud_id: {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": now + grant.expires_in,
            "refreshed_at": now,
            "scopes": site.scopes,
            "name": site.name,
            "url": site.url,
            "needs_reauth": False,
        }
        for cloud_id, site in sites.items()
    }


def vault_open(*, sid: str, grant: TokenGrant, sites: Mapping[str, SessionSite]) -> None:
    """Store the tokens of a fresh sign-in (sync: the sign-in view runs in a thread)."""
    blob = vault_encrypt(tokens_by_cloud_build(grant=grant, sites=sites))
    get_store().set_vault(sid, blob, absolute_seconds())


async def vault_read(*, sid: str) -> dict[str, dict[str, Any]] | None:
    """The session's tokens by cloud id; None when the session has no vault."""
    try:
        blob = await get_store().aget_vault(sid)
    except RedisError as exc:
        raise SessionStoreUnavailable from exc
    return None if blob is None else vault_decrypt(blob)


async def vault_write(*, sid: str, tokens: dict[str, dict[str, Any]]) -> None:
    """Replace the tokens of an existing vault (its lifetime unchanged)."""
    try:
        await get_store().aset_vault(sid, vault_encrypt(tokens))
    except RedisError as exc:
        raise SessionStoreUnavailable from exc


def entry_needs_reauth(entry: Mapping[str, Any]) -> bool:
    """A site needs a new consent when its grant is dead (``needs_reauth``: Atlassian refused
    the refresh) or when Jira refused its token for a missing scope (``missing_scopes``)."""
    return bool(entry.get("needs_reauth")) or bool(entry.get("missing_scopes"))


def vault_summary(tokens: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What may be shown about the vault: never a token value."""
    return {
        cloud_id: {
            "name": entry.get("name"),
            "url": entry.get("url"),
            "scopes": entry.get("scopes"),
            "expires_in": int(entry.get("expires_at", 0) - time.time()),
            "needs_reauth": entry_needs_reauth(entry),
            "missing_scopes": list(entry.get("missing_scopes") or []),
        }
        for cloud_id, entry in tokens.items()
    }
