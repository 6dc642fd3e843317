"""Atlassian OAuth 2.0 (3LO) for social-auth, fixed for jira-ai.

social-core's shipped ``AtlassianOAuth2`` hard-codes Atlassian's hosts, appends ``redirect_state``
to the redirect URI (strict providers refuse it), calls REST v2 ``myself`` on ``resources[0]`` (the
order of accessible resources means nothing), reads ``emailAddress`` unguarded (privacy settings
may hide it) and keeps the tokens in plaintext in ``extra_data`` (shown by social_django's admin).
This subclass takes its URLs and redirect URI from settings, calls REST v3, keys users on
``accountId``, keeps every Jira site, stores nothing secret in ``extra_data`` (the tokens go to the
encrypted vault, accounts/vault.py) and sends its HTTP through jira_ai/http.py.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from asgiref.sync import async_to_sync
from django.conf import settings
from social_core.backends.atlassian import AtlassianOAuth2 as SocialAtlassianOAuth2
from social_core.exceptions import AuthException, AuthProviderError

from core.http import build_async_client

JIRA_SCOPES = {"read:jira-work", "read:jira-user"}


class NoJiraSite(AuthException):
    """The Atlassian account granted no Jira site to the app."""

    default_code = "no_jira_site"


class AtlassianOAuth2(SocialAtlassianOAuth2):
    name = "atlassian"
    REDIRECT_STATE = False
    STATE_PARAMETER = True
    ACCESS_TOKEN_METHOD = "POST"
    EXTRA_DATA: list[str | tuple[str, str] | tuple[str, str, bool]] = []
    AUDIENCE = "api.atlassian.com"

    def authorization_url(self) -> str:
        return f"{settings.ATLASSIAN_AUTH_URL}/authorize"

    def access_token_url(self) -> str:
        return f"{settings.ATLASSIAN_AUTH_URL}/oauth/token"

    def get_redirect_uri(self, state: str | None = None) -> str:
        return str(settings.ATLASSIAN_REDIRECT_URI)

    def get_key_and_secret(self) -> tuple[str, str]:
        return settings.ATLASSIAN_CLIENT_ID, settings.ATLASSIAN_CLIENT_SECRET

    def get_scope(self) -> list[str]:
        return list(settings.ATLASSIAN_SCOPES)

    def auth_params(self, state: str | None = None) -> dict[str, str]:
        params = super().auth_params(state)
        params.update({"audience": self.AUDIENCE, "prompt": "consent"})
        return params

    def get_user_id(self, details: dict[str, Any], response: dict[str, Any]) -> str:
        return str(response["accountId"])

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "username": response["accountId"],
            "email": response.get("emailAddress") or "",
            "fullname": response.get("displayName") or "",
            "first_name": "",
            "last_name": "",
        }

    def extra_data(
        self,
        user: Any,
        uid: str,
        response: dict[str, Any],
        details: dict[str, Any],
        pipeline_kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        # Deliberately no token of any kind: social_django stores this in the database.
        return {"account_id": uid, "cloud_ids": sorted(r["id"] for r in response["resources"])}

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        api = settings.ATLASSIAN_API_URL
        resources = self.get_json(f"{api}/oauth/token/accessible-resources", headers=headers)
        if not isinstance(resources, list):
            resources = []
        jira = [
            resource
            for resource in resources
            if isinstance(resource, dict)
            and isinstance(resource.get("id"), str)
            and JIRA_SCOPES & set(resource.get("scopes") or [])
        ]
        if not jira:
            raise NoJiraSite(self, stage="user_info")
        # Any granted site answers for the same Atlassian account.
        myself = self.get_json(f"{api}/ex/jira/{jira[0]['id']}/rest/api/3/myself", headers=headers)
        if not isinstance(myself, dict) or not myself.get("accountId"):
            raise AuthProviderError(self, code="malformed_response", stage="user_info")
        return {**myself, "resources": jira}

    def get_json(
        self,
        url: str,
        method: Literal["GET", "POST", "DELETE"] = "GET",
        headers: Any = None,
        data: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        auth: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        stage: Any = "user_info",
    ) -> Any:
        """social-core's HTTP goes through our one client factory (timeouts, no redirects)."""
        return async_to_sync(self._aget_json)(
            url, method, dict(headers or {}), data, json, auth, params, stage
        )

    async def _aget_json(
        self,
        url: str,
        method: str,
        headers: dict[str, str],
        data: dict[str, Any] | None,
        json: dict[str, Any] | None,
        auth: Any,
        params: dict[str, Any] | None,
        stage: Any,
    ) -> Any:
        try:
            async with build_async_client(connect_timeout=5.0, read_timeout=15.0) as client:
                response = await client.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    json=json,
                    params=params,
                    auth=auth if isinstance(auth, tuple) else None,
                )
        except httpx.TimeoutException as exc:
            raise AuthProviderError(self, code="timeout", stage=stage) from exc
        except httpx.HTTPError as exc:
            raise AuthProviderError(self, code="connection_failed", stage=stage) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            classified = self.get_provider_error(
                body, stage=stage, status_code=response.status_code
            )
            if classified is not None:
                raise classified
            raise AuthProviderError(
                self,
                code="unavailable" if response.status_code >= 500 else "http_error",
                stage=stage,
                status_code=response.status_code,
            )
        if body is None:
            raise AuthProviderError(self, code="malformed_response", stage=stage)
        return body
