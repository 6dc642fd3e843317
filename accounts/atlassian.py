"""The Atlassian auth client: one method per operation of auth.atlassian.com and of the
api.atlassian.com calls that identify a token (docs/wire-facts.md section 1).

Every failure is one of two errors: ``AtlassianReauthRequired`` (Atlassian refused the code, the
grant or the token: only a new sign-in helps) and ``AtlassianUnavailable`` (transport, 5xx, 429, a
configuration error, an unreadable answer). Logs name the operation and the status or OAuth error
code, never a token, a code or the client secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from accounts.errors import AtlassianReauthRequired, AtlassianUnavailable
from core.http import build_async_client, per_loop

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
DEFAULT_EXPIRES_IN = 3600
# Refresh errors after which only a new consent helps (docs/wire-facts.md 1.4; jira.js's rule).
REFRESH_REAUTH_ERRORS = {"invalid_grant", "unauthorized_client"}
# A refused authorization code (bad, expired, replayed): the user starts the sign-in again.
# `access_denied` there means a wrong client secret, a configuration error (docs/wire-facts.md 1.4).
CODE_REFUSED_ERRORS = {"invalid_grant", "invalid_request"}


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str  # "" when Atlassian sent none (no offline_access)
    expires_in: int
    scope: str


@dataclass(frozen=True)
class AccessibleResource:
    """A site the token may reach; ``cloud_id`` addresses it through the gateway."""

    cloud_id: str
    name: str
    url: str
    scopes: tuple[str, ...]
    avatar_url: str


@dataclass(frozen=True)
class AtlassianAccount:
    account_id: str
    display_name: str
    email: str  # "" when the account's privacy settings hide it
    avatar_url: str  # the 48x48 one


_http = per_loop(
    lambda: build_async_client(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        headers={"Accept": "application/json"},
    )
)


class AtlassianAuthClient:
    def __init__(
        self,
        *,
        auth_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http_override = http

    @classmethod
    def from_settings(cls) -> AtlassianAuthClient:
        return cls(
            auth_url=settings.ATLASSIAN_AUTH_URL,
            api_url=settings.ATLASSIAN_API_URL,
            client_id=settings.ATLASSIAN_CLIENT_ID,
            client_secret=settings.ATLASSIAN_CLIENT_SECRET,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http_override or _http.get()

    # -- operations --

    async def token_exchange(self, *, code: str, redirect_uri: str) -> TokenGrant:
        status, body = await self._token_post(
            "token_exchange",
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        )
        if status != 200:
            error = str(body.get("error", ""))
            if (
                400 <= status < 500
                and status != 429
                and (error in CODE_REFUSED_ERRORS or status == 403)
            ):
                logger.info("Atlassian refused the authorization code (%s)", error or status)
                raise AtlassianReauthRequired
            logger.warning("Atlassian token exchange answered HTTP %s (%s)", status, error)
            raise AtlassianUnavailable
        return _grant(body, "token_exchange")

    async def token_refresh(self, *, refresh_token: str) -> TokenGrant:
        status, body = await self._token_post(
            "token_refresh", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        if status != 200:
            error = str(body.get("error", ""))
            if status in (400, 401, 403) and (error in REFRESH_REAUTH_ERRORS or status == 403):
                logger.info("Atlassian refused the refresh (%s): re-consent needed", error or 403)
                raise AtlassianReauthRequired
            logger.warning("Atlassian token refresh answered HTTP %s", status)
            raise AtlassianUnavailable
        return _grant(body, "token_refresh")

    async def accessible_resources(self, *, access_token: str) -> list[AccessibleResource]:
        """The sites granted to the token, in no meaningful order (entries without an id are
        skipped; an answer that is not a list means none)."""
        body = await self._api_get(
            "accessible_resources", "/oauth/token/accessible-resources", access_token
        )
        if not isinstance(body, list):
            return []
        return [
            AccessibleResource(
                cloud_id=item["id"],
                name=str(item.get("name") or item["id"]),
                url=str(item.get("url") or ""),
                scopes=tuple(str(s) for s in item.get("scopes") or []),
                avatar_url=str(item.get("avatarUrl") or ""),
            )
            for item in body
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        ]

    async def myself(self, *, access_token: str, cloud_id: str) -> AtlassianAccount:
        """The account behind the token, from Jira's REST v3 ``myself`` on one of its sites
        (any granted site answers for the same account)."""
        body = await self._api_get("myself", f"/ex/jira/{cloud_id}/rest/api/3/myself", access_token)
        account_id = body.get("accountId") if isinstance(body, dict) else None
        if not isinstance(account_id, str) or not account_id:
            logger.warning("Atlassian myself sent no accountId")
            raise AtlassianUnavailable("Atlassian sent an unreadable answer.")
        assert isinstance(body, dict)
        avatars = body.get("avatarUrls")
        return AtlassianAccount(
            account_id=account_id,
            display_name=str(body.get("displayName") or ""),
            email=str(body.get("emailAddress") or ""),
            avatar_url=str(avatars.get("48x48") or "") if isinstance(avatars, dict) else "",
        )

    # -- the request core --

    async def _token_post(self, operation: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        credentials = {"client_id": self._client_id, "client_secret": self._client_secret}
        try:
            response = await self.http.post(
                f"{self.auth_url}/oauth/token", json={**body, **credentials}
            )
        except httpx.HTTPError as exc:
            logger.warning("Atlassian %s failed: %s", operation, type(exc).__name__)
            raise AtlassianUnavailable from exc
        payload = _json(response)
        return response.status_code, payload if isinstance(payload, dict) else {}

    async def _api_get(self, operation: str, path: str, access_token: str) -> Any:
        try:
            response = await self.http.get(
                self.api_url + path, headers={"Authorization": f"Bearer {access_token}"}
            )
        except httpx.HTTPError as exc:
            logger.warning("Atlassian %s failed: %s", operation, type(exc).__name__)
            raise AtlassianUnavailable from exc
        if response.status_code == 401:
            raise AtlassianReauthRequired
        if response.status_code != 200:
            logger.warning("Atlassian %s answered HTTP %s", operation, response.status_code)
            raise AtlassianUnavailable
        body = _json(response)
        if body is None:
            logger.warning("Atlassian %s sent an unreadable answer", operation)
            raise AtlassianUnavailable("Atlassian sent an unreadable answer.")
        return body


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _grant(body: dict[str, Any], operation: str) -> TokenGrant:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        logger.warning("Atlassian %s sent no access token", operation)
        raise AtlassianUnavailable("Atlassian sent an unreadable token response.")
    refresh = body.get("refresh_token")
    try:
        expires_in = int(body.get("expires_in") or DEFAULT_EXPIRES_IN)
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    return TokenGrant(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) else "",
        expires_in=expires_in,
        scope=str(body.get("scope") or ""),
    )
