"""Atlassian OAuth 2.0 (3LO) for social-auth, fixed for jira-ai.

social-core's shipped ``AtlassianOAuth2`` hard-codes Atlassian's hosts, appends ``redirect_state``
to the redirect URI (strict providers refuse it), calls REST v2 ``myself`` on ``resources[0]`` (the
order of accessible resources means nothing), reads ``emailAddress`` unguarded (privacy settings
may hide it) and keeps the tokens in plaintext in ``extra_data`` (shown by social_django's admin).
This subclass takes its URLs and redirect URI from settings, calls REST v3, keys users on
``accountId``, keeps every Jira site, stores nothing secret in ``extra_data`` (the tokens go to the
encrypted vault, accounts/vault.py) and sends its HTTP through ``accounts.atlassian``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from social_core.backends.atlassian import AtlassianOAuth2 as SocialAtlassianOAuth2
from social_core.exceptions import AuthCredentialError, AuthException, AuthProviderError

from accounts.atlassian import AtlassianAuthClient
from accounts.errors import AtlassianReauthRequired, AtlassianUnavailable
from accounts.scopes import SIGN_IN_SCOPES

JIRA_SCOPES = {"read:jira-work", "read:jira-user"}

T = TypeVar("T")


class NoJiraSite(AuthException):
    """The Atlassian account granted no Jira site to the app."""

    default_code = "no_jira_site"


class AtlassianOAuth2(SocialAtlassianOAuth2):
    name = "atlassian"
    REDIRECT_STATE = False
    STATE_PARAMETER = True
    EXTRA_DATA: list[str | tuple[str, str] | tuple[str, str, bool]] = []
    AUDIENCE = "api.atlassian.com"

    def authorization_url(self) -> str:
        return f"{settings.ATLASSIAN_AUTH_URL}/authorize"

    def get_redirect_uri(self, state: str | None = None) -> str:
        return str(settings.ATLASSIAN_REDIRECT_URI)

    def get_key_and_secret(self) -> tuple[str, str]:
        return settings.ATLASSIAN_CLIENT_ID, settings.ATLASSIAN_CLIENT_SECRET

    def get_scope(self) -> list[str]:
        """Classic platform scopes plus the Jira Software ones (accounts/scopes.py says what
        each covers): the app's console must enable every one of them."""
        return list(SIGN_IN_SCOPES)

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
        return {"account_id": uid, "cloud_ids": sorted(r.cloud_id for r in response["resources"])}

    def request_access_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The code exchange, through our Atlassian client instead of social-core's request."""
        grant = self._call(
            lambda client: client.token_exchange(
                code=str(self.data.get("code") or ""), redirect_uri=self.get_redirect_uri()
            ),
            stage="token_exchange",
            refused="authorization_code_rejected",
        )
        # social-core reads the access token from the standard field; the pipeline the grant.
        return {**asdict(grant), "grant": grant}

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        resources = self._call(
            lambda client: client.accessible_resources(access_token=access_token),
            stage="user_info",
            refused="credential_rejected",
        )
        jira = [r for r in resources if JIRA_SCOPES & set(r.scopes)]
        if not jira:
            raise NoJiraSite(self, stage="user_info")
        account = self._call(
            lambda client: client.myself(access_token=access_token, cloud_id=jira[0].cloud_id),
            stage="user_info",
            refused="credential_rejected",
        )
        return {
            "accountId": account.account_id,
            "displayName": account.display_name,
            "emailAddress": account.email,
            "account": account,
            "resources": jira,
        }

    def request(self, url: str, *args: Any, **kwargs: Any) -> Any:
        """Every Atlassian call goes through ``AtlassianAuthClient`` (timeouts, no redirects,
        typed errors): a social-core code path reaching its own HTTP here is a bug."""
        raise NotImplementedError("Atlassian HTTP goes through accounts.atlassian")

    def _call(
        self,
        operation: Callable[[AtlassianAuthClient], Awaitable[T]],
        *,
        stage: Any,
        refused: str,
    ) -> T:
        """Run one client operation from social-auth's synchronous pipeline (in a worker
        thread), its failures as social-auth's, which the callback view turns into pages."""

        async def run() -> T:
            return await operation(AtlassianAuthClient.from_settings())

        try:
            return async_to_sync(run)()
        except AtlassianReauthRequired as exc:
            raise AuthCredentialError(self, code=refused, stage=stage) from exc
        except AtlassianUnavailable as exc:
            raise AuthProviderError(self, code="unavailable", stage=stage) from exc
