"""The Atlassian auth client against the sandbox: exchange, refresh with rotation, refusals that
ask for a new consent, failures that mean "unavailable", and the calls that identify a token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from accounts.atlassian import AccessibleResource, AtlassianAuthClient, TokenGrant
from accounts.errors import AtlassianReauthRequired, AtlassianUnavailable
from sandbox.atlassian.data import ACME, ALICE, GLOBEX
from sandbox.atlassian.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI
from tests.support.servers import free_port
from tests.support.signin import query_of

SCOPES = "read:jira-work read:jira-user offline_access"


def _client(url: str, *, secret: str = DEMO_CLIENT_SECRET) -> AtlassianAuthClient:
    return AtlassianAuthClient(
        auth_url=url, api_url=url, client_id=DEMO_CLIENT_ID, client_secret=secret
    )


async def _code(sandbox_url: str, account_id: str) -> str:
    """An authorization code from the sandbox's consent form, for the demo client."""
    form = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": DEMO_REDIRECT_URI,
        "scope": SCOPES,
        "state": "s" * 32,
        "audience": "api.atlassian.com",
        "response_type": "code",
        "prompt": "consent",
        "account_id": account_id,
        "decision": "accept",
    }
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.post(sandbox_url + "/authorize", data=form)
    assert answer.status_code == 302, answer.text[:300]
    return query_of(answer.headers["location"])["code"]


async def _grant(sandbox_url: str, account_id: str = ALICE.account_id) -> TokenGrant:
    code = await _code(sandbox_url, account_id)
    return await _client(sandbox_url).token_exchange(code=code, redirect_uri=DEMO_REDIRECT_URI)


async def _sandbox(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as control:
        response = await (
            control.get(url + path) if body is None else control.post(url + path, json=body)
        )
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def test_exchange_gives_a_grant_and_a_refresh_rotates_it(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)

    refreshed = await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)

    assert grant.access_token.startswith("sbx-at-")
    assert grant.refresh_token.startswith("sbx-rt-")
    assert (grant.expires_in, grant.scope) == (3600, SCOPES)
    assert refreshed.access_token.startswith("sbx-at-")
    assert refreshed.access_token != grant.access_token
    assert refreshed.refresh_token.startswith("sbx-rt-")
    assert refreshed.refresh_token != grant.refresh_token
    assert (await _sandbox(sandbox_url, "/_sandbox/stats"))["refreshes"] == 1


async def test_a_refused_refresh_asks_for_a_new_consent(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)
    rotated = await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)

    # The rotated-out token comes back: Atlassian kills the family, the new token with it.
    with pytest.raises(AtlassianReauthRequired):
        await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)
    with pytest.raises(AtlassianReauthRequired):
        await _client(sandbox_url).token_refresh(refresh_token=rotated.refresh_token)


async def test_a_revoked_grant_asks_for_a_new_consent(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)
    await _sandbox(sandbox_url, "/_sandbox/tokens/revoke", {"account_id": ALICE.account_id})

    with pytest.raises(AtlassianReauthRequired):
        await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)


async def test_a_replayed_code_is_refused(sandbox_url: str) -> None:
    code = await _code(sandbox_url, ALICE.account_id)
    client = _client(sandbox_url)
    await client.token_exchange(code=code, redirect_uri=DEMO_REDIRECT_URI)

    with pytest.raises(AtlassianReauthRequired):
        await client.token_exchange(code=code, redirect_uri=DEMO_REDIRECT_URI)


async def test_a_wrong_client_secret_is_unavailable_not_a_refusal(sandbox_url: str) -> None:
    # docs/wire-facts.md 1.4: `access_denied` from the token endpoint is a configuration error, so
    # sending the user through consent again would loop.
    grant = await _grant(sandbox_url)

    with pytest.raises(AtlassianUnavailable):
        await _client(sandbox_url, secret="wrong").token_refresh(refresh_token=grant.refresh_token)


async def test_nothing_listening_is_unavailable(sandbox_url: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(AtlassianUnavailable):
        await _client(closed).token_refresh(refresh_token="sbx-rt-unused")


async def test_a_token_endpoint_outage_is_unavailable(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)
    fault = {"target": "oauth", "mode": "status", "status": 503, "count": 1}
    await _sandbox(sandbox_url, "/_sandbox/faults", fault)

    with pytest.raises(AtlassianUnavailable):
        await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)
    # The outage consumed nothing: the same refresh token still works.
    again = await _client(sandbox_url).token_refresh(refresh_token=grant.refresh_token)
    assert again.access_token.startswith("sbx-at-")


async def test_accessible_resources_and_myself_identify_the_token(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)
    client = _client(sandbox_url)

    resources = await client.accessible_resources(access_token=grant.access_token)
    account = await client.myself(access_token=grant.access_token, cloud_id=ACME.cloud_id)

    assert sorted(resources, key=lambda r: r.name) == [
        AccessibleResource(
            cloud_id=site.cloud_id,
            name=site.name,
            url=site.url,
            scopes=("read:jira-work", "read:jira-user"),
            avatar_url="https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
        )
        for site in (ACME, GLOBEX)
    ]
    assert (account.account_id, account.display_name, account.email) == (
        ALICE.account_id,
        "Alice Martin",
        ALICE.email,
    )
    assert account.avatar_url == (
        "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/default?size=48"
    )


async def test_an_expired_access_token_asks_for_a_new_consent(sandbox_url: str) -> None:
    grant = await _grant(sandbox_url)
    await _sandbox(sandbox_url, "/_sandbox/tokens/expire", {"account_id": ALICE.account_id})
    client = _client(sandbox_url)

    with pytest.raises(AtlassianReauthRequired):
        await client.accessible_resources(access_token=grant.access_token)
    with pytest.raises(AtlassianReauthRequired):
        await client.myself(access_token=grant.access_token, cloud_id=ACME.cloud_id)
