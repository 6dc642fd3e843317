"""The client against a token without a route's scope (the gateway's 401 "scope does not
match"): a re-consent error at once, the vault told, the platform routes unaffected."""

from __future__ import annotations

import pytest

from jira.client import JiraClient
from jira.errors import JiraReauthRequired, JiraScopeRefused
from tests.support.ids import ACME, ALICE
from tests.support.jira import TokenSource, jira_config, site_url
from tests.support.sandbox import jira_requests


async def test_an_agile_route_with_classic_scopes_only_is_reauth_at_once_and_reported(
    sandbox_url: str,
) -> None:
    # Given a token with the classic scopes only (the sandbox demo app's sign-in)
    tokens = TokenSource(sandbox_url, ALICE)
    reported: list[str] = []

    async def on_scope_refused() -> None:
        reported.append(ACME)

    client = JiraClient(
        cloud_id=ACME,
        site_url=site_url(ACME),
        token_provider=tokens,
        config=jira_config(sandbox_url),
        on_scope_refused=on_scope_refused,
    )

    # When the client calls an Agile route (a path from the site's root)
    with pytest.raises(JiraReauthRequired) as caught:
        await client._request("boards", "GET", "/rest/agile/1.0/board")

    # Then: re-consent, without a refresh (it would grant the same scopes), reported once
    assert isinstance(caught.value, JiraScopeRefused)
    assert (caught.value.status, caught.value.code) == (401, "atlassian_reauth_required")
    assert "Jira Software" in caught.value.detail
    assert tokens.forced == 0
    assert reported == [ACME]
    assert jira_requests(sandbox_url) == 1
    # and the same token still reads what its scopes cover
    me = await client.myself()
    assert me.account_id == ALICE
