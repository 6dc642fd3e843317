"""The Jira Software scopes at sign-in, and a new consent (never an error page) for a site whose
token lacks them: real Daphne, the sandbox as Atlassian and Jira, real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from accounts.context import UserContext
from accounts.scopes import JIRA_SOFTWARE_SCOPES, SIGN_IN_SCOPES
from accounts.selectors import session_context_get
from accounts.services import site_has_scopes
from jira.errors import JiraReauthRequired
from jira.services import jira_client_for
from sandbox.atlassian.data import ACME, ALICE, GLOBEX
from tests.support import sandbox
from tests.support.servers import ServerProcess
from tests.support.signin import Dance, dance_begin, dance_consent

BOARDS = "/rest/agile/1.0/board"
BOARDS_ROUTE = "GET /ex/jira/{cloudId}/rest/agile/1.0/board"
API_CLIENT = "jira-ai-tests"  # the OAuth client of ``api_server`` in the sandbox


async def _context(client: httpx.AsyncClient) -> UserContext:
    """The signed-in session of ``client`` as the API sees it (same Redis, same vault key)."""
    sid = client.cookies["sid"].split(":")[0]
    return await asyncio.to_thread(session_context_get, sid=sid)


async def _consent_again(client: httpx.AsyncClient, cloud_id: str) -> httpx.Response:
    """What the UI's re-consent button does: POST /login with the CSRF token and the site, then
    the consent, then the callback."""
    started = await client.post(
        "/login",
        data={
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "next": "/ui",
            "cloud_id": cloud_id,
        },
    )
    assert started.status_code == 302, started.text[:500]
    callback = await dance_consent(Dance(client, started.headers["location"]), ALICE.account_id)
    return await client.get(callback)


async def test_a_token_without_the_jira_software_scopes_leads_to_a_new_consent(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    # Given a sign-in whose grant left out the Jira Software scopes (as a session signed in
    # before the app asked for them), on the Globex site
    sandbox.withhold_scopes(sandbox_url, JIRA_SOFTWARE_SCOPES)
    client = await sign_in_as(ALICE.account_id, GLOBEX.cloud_id)
    ctx = await _context(client)
    assert ctx.cloud_id == GLOBEX.cloud_id

    # When an Agile route is called through our Jira client
    with pytest.raises(JiraReauthRequired) as refused:
        await jira_client_for(ctx, api_url=sandbox_url)._request("boards", "GET", BOARDS)

    # Then it is a 401 atlassian_reauth_required, at once (a refresh grants the same scopes)
    assert (refused.value.status, refused.value.code) == (401, "atlassian_reauth_required")
    stats = sandbox.stats(sandbox_url)
    assert stats["routes"][BOARDS_ROUTE] == 1
    assert stats["refreshes"] == 0
    # and /me asks for a new consent on that site only
    me = (await client.get("/me")).json()
    assert [(s["cloud_id"], s["needs_reauth"]) for s in me["sites"]] == [
        (ACME.cloud_id, False),
        (GLOBEX.cloud_id, True),
    ]
    assert not await site_has_scopes(ctx, ["read:sprint:jira-software"])
    assert await site_has_scopes(ctx, ["read:jira-work"])
    # while the platform reads that token's scopes cover go on working
    projects = await client.get("/jira/projects")
    assert projects.status_code == 200, projects.text
    assert {p["key"] for p in projects.json()["projects"]} == {"OPS", "DATA"}

    # When the user consents again, the grant now complete
    sandbox.withhold_scopes(sandbox_url, [])
    done = await _consent_again(client, GLOBEX.cloud_id)

    # Then the new session is on that site, nothing needs a new consent, and boards answer
    assert done.status_code == 302
    assert done.headers["location"] == "/ui"
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    me = (await client.get("/me")).json()
    assert me["current_cloud_id"] == GLOBEX.cloud_id
    assert [s["needs_reauth"] for s in me["sites"]] == [False, False]
    fresh = await _context(client)
    assert fresh.session_key != ctx.session_key
    boards = await jira_client_for(fresh, api_url=sandbox_url)._request("boards", "GET", BOARDS)
    assert {b["location"]["projectKey"] for b in boards["values"]} <= {"OPS", "DATA"}
    assert boards["values"]
    assert await site_has_scopes(fresh, JIRA_SOFTWARE_SCOPES)


async def test_a_site_hint_that_is_not_granted_falls_back_to_the_default_site(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)

    done = await _consent_again(client, "not-a-site-of-alice")

    assert done.status_code == 302
    me = (await client.get("/me")).json()
    assert me["current_cloud_id"] == ACME.cloud_id


async def test_a_scope_the_app_has_not_enabled_gives_a_clear_sign_in_page(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    # Given the app's console without one of the scopes jira-ai asks for
    enabled = [s for s in SIGN_IN_SCOPES if s != "read:jql:jira"]
    sandbox.enable_scopes(sandbox_url, API_CLIENT, enabled)

    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:
        # When a user signs in
        dance = await dance_begin(client)
        refused = await client.get(dance.authorize_url)
        assert refused.status_code == 302
        page = await client.get(refused.headers["location"])
        me = await client.get("/me")

    # Then Atlassian refused it with invalid_scope, and our page says what to enable
    assert "error=invalid_scope" in refused.headers["location"]
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "Atlassian a refusé les permissions demandées" in page.text
    assert "invalid_scope" in page.text
    for scope in SIGN_IN_SCOPES:
        assert f"<code>{scope}</code>" in page.text
    assert 'href="/login"' in page.text
    assert me.status_code == 401
