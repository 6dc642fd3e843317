"""What a signed-in session holds: the one module that names its keys, and a typed reader.

The session is JSON in Redis (accounts/sessions.py), written once by the sign-in pipeline and
then read on every request; reading goes through :meth:`SessionData.read`, which never trusts
the stored types (a value of the wrong type reads as absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ACCOUNT_ID = "account_id"
DISPLAY_NAME = "display_name"
AVATAR_URL = "avatar_url"
SITES = "sites"
CURRENT_CLOUD_ID = "current_cloud_id"


@dataclass(frozen=True)
class SessionSite:
    """One Jira site of the session, by cloud id."""

    name: str
    url: str
    scopes: list[str]
    avatar_url: str

    @classmethod
    def read(cls, cloud_id: str, raw: object) -> SessionSite:
        site = raw if isinstance(raw, Mapping) else {}
        scopes = site.get("scopes")
        return cls(
            name=str(site.get("name") or cloud_id),
            url=str(site.get("url") or ""),
            scopes=[str(s) for s in scopes] if isinstance(scopes, list) else [],
            avatar_url=str(site.get("avatar_url") or ""),
        )


@dataclass(frozen=True)
class SessionData:
    account_id: str | None = None  # None until the sign-in pipeline ran
    display_name: str = ""
    avatar_url: str = ""
    sites: dict[str, SessionSite] = field(default_factory=dict)
    current_cloud_id: str | None = None

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> SessionData:
        account_id = data.get(ACCOUNT_ID)
        sites = data.get(SITES)
        current = data.get(CURRENT_CLOUD_ID)
        return cls(
            account_id=account_id if isinstance(account_id, str) else None,
            display_name=str(data.get(DISPLAY_NAME) or ""),
            avatar_url=str(data.get(AVATAR_URL) or ""),
            sites=(
                {str(cid): SessionSite.read(str(cid), site) for cid, site in sites.items()}
                if isinstance(sites, dict)
                else {}
            ),
            current_cloud_id=current if isinstance(current, str) else None,
        )

    def as_session(self) -> dict[str, Any]:
        """The values to store (JSON types only)."""
        return {
            ACCOUNT_ID: self.account_id,
            DISPLAY_NAME: self.display_name,
            AVATAR_URL: self.avatar_url,
            SITES: {cloud_id: asdict(site) for cloud_id, site in self.sites.items()},
            CURRENT_CLOUD_ID: self.current_cloud_id,
        }
