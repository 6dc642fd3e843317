"""Reads: the signed-in account (``/me``) and the live sessions (admin, commands)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accounts.schemas import MeOut, SiteOut
from accounts.sessions import CREATED_KEY, absolute_seconds, decode, idle_seconds
from accounts.store import get_store
from accounts.vault import vault_read


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
