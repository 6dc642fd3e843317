"""What the rest of the public API knows of the signed-in user: the contract between ``accounts``
and the apps that act on the user's behalf (``jira``, ``ai_proxy``).

``SessionAuth`` (accounts/auth.py) returns a :class:`UserContext` as ``request.auth`` for every
authenticated ninja request, with ``cloud_id`` already checked against the session's sites (the
``cloud_id`` query parameter when given, else the session's current site).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserContext:
    account_id: str
    display_name: str
    session_key: str
    cloud_id: str
    site_url: str  # e.g. https://acme.atlassian.net, for browse links


async def access_token_get(ctx: UserContext, *, force_refresh: bool = False) -> str:
    """The site's access token, refreshed shortly before expiry (or now, with ``force_refresh``,
    after Jira answered 401) under a Redis lock: one refresh at a time across all workers.

    Raises ``accounts.errors.AtlassianReauthRequired`` (401 ``atlassian_reauth_required``) when
    Atlassian refuses the refresh, and ``accounts.errors.SessionStoreUnavailable`` (503) when Redis
    is down.
    """
    from accounts.vault import access_token_get as implementation

    return await implementation(ctx, force_refresh=force_refresh)
