"""The last step of social-auth's pipeline: open our session for the signed-in account.

The session is flushed first (new key, nothing of a previous session kept; django's ``login()``
then cycles the key once more), and the tokens are handed to the callback view on the request, to
be written to the encrypted vault under the session's final key. Nothing here is stored in the
database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest

from accounts.atlassian import AccessibleResource, AtlassianAccount, TokenGrant
from accounts.session_data import SessionData, SessionSite

GRANT_ATTRIBUTE = "jira_ai_grant"
# The site a re-consent was started for (``POST /login`` with ``cloud_id``), kept across the flush.
SITE_HINT = "signin_site"
# The sandbox stands in for Atlassian on loopback, over plain HTTP.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class SignInTokens:
    """What the callback view writes to the vault once the session's final key is known."""

    grant: TokenGrant
    sites: dict[str, SessionSite]


def url_sanitize(value: str) -> str:
    """``value`` if it is an ``https:`` URL (or ``http:`` on loopback), else "".

    Defence in depth: these URLs come from Atlassian and end up in links and ``<img src>`` of the
    UI, where a ``javascript:`` or ``data:`` URL would run or show what Atlassian never meant."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return ""
    if not host:
        return ""
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return value.strip()
    return ""


def sites_from_resources(resources: Iterable[AccessibleResource]) -> dict[str, SessionSite]:
    return {
        r.cloud_id: SessionSite(
            name=r.name,
            url=url_sanitize(r.url),
            scopes=sorted(r.scopes),
            avatar_url=url_sanitize(r.avatar_url),
        )
        for r in resources
    }


def session_data_build(
    *,
    account: AtlassianAccount,
    resources: Iterable[AccessibleResource],
    preferred_site: str | None = None,
) -> SessionData:
    """``preferred_site``: the current site if it is one of the granted ones (a re-consent for
    that site)."""
    sites = sites_from_resources(resources)
    # Sites come in no meaningful order: a stable default, the user switches in /ui.
    current = (
        preferred_site
        if preferred_site in sites
        else min(sites, key=lambda cid: (sites[cid].name.lower(), cid))
    )
    return SessionData(
        account_id=account.account_id,
        display_name=account.display_name,
        avatar_url=url_sanitize(account.avatar_url),
        sites=sites,
        current_cloud_id=current,
    )


def session_open(
    strategy: Any, backend: Any, uid: str, response: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    """``response`` is what ``accounts.backends.AtlassianOAuth2`` gathered: the token response,
    the Atlassian account and the Jira sites."""
    request: HttpRequest = strategy.request
    session = request.session
    next_url = session.get("next")
    hint = session.get(SITE_HINT)
    session.flush()
    data = session_data_build(
        account=response["account"],
        resources=response["resources"],
        preferred_site=hint if isinstance(hint, str) else None,
    )
    session.update(data.as_session())
    if next_url:
        session["next"] = next_url
    grant: TokenGrant = response["grant"]
    setattr(request, GRANT_ATTRIBUTE, SignInTokens(grant=grant, sites=data.sites))
