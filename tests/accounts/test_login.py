"""The whole sign-in over HTTP: real Daphne, the sandbox as Atlassian, real Redis."""

from __future__ import annotations

from typing import Any

import httpx
import redis

from sandbox.atlassian.data import ACME, ALICE, BRUNO, GLOBEX
from tests.support.servers import ServerProcess
from tests.support.signin import dance_begin, dance_consent, query_of, sign_in


def _redis() -> redis.Redis:
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def _sid(client: httpx.AsyncClient) -> str:
    return client.cookies["sid"].split(":")[0]


async def test_login_lists_both_sites_of_alice_and_the_current_one(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)

    me = await client.get("/me")

    assert me.status_code == 200
    body = me.json()
    assert body["account_id"] == ALICE.account_id
    assert body["display_name"] == "Alice Martin"
    assert body["current_cloud_id"] == ACME.cloud_id
    assert [s["cloud_id"] for s in body["sites"]] == [ACME.cloud_id, GLOBEX.cloud_id]
    assert [s["url"] for s in body["sites"]] == [ACME.url, GLOBEX.url]
    assert all(s["needs_reauth"] is False for s in body["sites"])
    assert body["sites"][0]["scopes"] == [
        "read:board-scope:jira-software",
        "read:issue-details:jira",
        "read:jira-user",
        "read:jira-work",
        "read:jql:jira",
        "read:project:jira",
        "read:sprint:jira-software",
    ]

    chosen = await client.put("/me/site", json={"cloud_id": GLOBEX.cloud_id})
    assert chosen.status_code == 200
    assert chosen.json()["current_cloud_id"] == GLOBEX.cloud_id
    assert (await client.get("/me")).json()["current_cloud_id"] == GLOBEX.cloud_id


async def test_ui_redirects_to_login_when_signed_out_and_login_page_has_the_button(
    api_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        ui = await client.get("/ui")
        page = await client.get("/login")

    assert ui.status_code == 302
    assert ui.headers["location"] == "/login"
    assert page.status_code == 200
    assert "Se connecter avec Atlassian" in page.text
    assert '<form method="post" action="/login">' in page.text


async def test_login_start_is_post_only_and_csrf_protected(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        no_csrf = await client.post("/login", data={})

    assert no_csrf.status_code == 403


async def test_authorize_request_carries_audience_prompt_scopes_and_exact_redirect_uri(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        dance = await dance_begin(client)

    query = query_of(dance.authorize_url)
    assert dance.authorize_url.startswith(sandbox_url + "/authorize?")
    assert query["audience"] == "api.atlassian.com"
    assert query["prompt"] == "consent"
    # Classic scopes do not cover Jira Software's /rest/agile/1.0: its scopes are asked too.
    assert query["scope"] == (
        "read:jira-work read:jira-user offline_access read:board-scope:jira-software "
        "read:sprint:jira-software read:project:jira read:issue-details:jira read:jql:jira"
    )
    assert query["redirect_uri"] == api_server.url + "/oauth/callback"
    assert query["response_type"] == "code"
    assert len(query["state"]) == 32


async def test_session_key_changes_at_login_and_the_old_one_is_dead(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        dance = await dance_begin(client)
        before = client.cookies["sid"]
        callback = await dance_consent(dance, ALICE.account_id)
        done = await client.get(callback)
        after = client.cookies["sid"]

    assert done.status_code == 302
    assert after != before
    assert _redis().exists("session:" + before.split(":")[0]) == 0
    async with httpx.AsyncClient(base_url=api_server.url, cookies={"sid": after}) as fresh:
        assert (await fresh.get("/me")).status_code == 200
    async with httpx.AsyncClient(base_url=api_server.url, cookies={"sid": before}) as stale:
        assert (await stale.get("/me")).status_code == 401


async def test_state_mismatch_or_missing_opens_no_session(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        dance = await dance_begin(client)
        callback = await dance_consent(dance, ALICE.account_id)
        code = query_of(callback)["code"]
        wrong = await client.get("/oauth/callback", params={"code": code, "state": "x" * 32})
        missing = await client.get("/oauth/callback", params={"code": code})
        me = await client.get("/me")

    assert wrong.status_code == 400
    assert "La connexion n\u2019a pas abouti" in wrong.text
    assert missing.status_code == 400
    assert me.status_code == 401
    assert me.json() == {"detail": "Not signed in.", "code": "not_authenticated"}


async def test_callback_without_any_session_is_refused(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        answer = await client.get("/oauth/callback", params={"code": "sbx-x", "state": "y" * 32})

    assert answer.status_code == 400
    assert "sid" not in answer.cookies


async def test_deny_on_consent_returns_to_a_friendly_page(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        dance = await dance_begin(client)
        callback = await dance_consent(dance, ALICE.account_id, decision="deny")
        page = await client.get(callback)
        me = await client.get("/me")

    assert query_of(callback)["error"] == "access_denied"
    assert page.status_code == 200
    assert "Vous avez refusé l\u2019accès" in page.text
    assert me.status_code == 401


async def test_reused_code_is_refused(api_server: ServerProcess, sandbox_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as first:
        callback = await dance_consent(await dance_begin(first), ALICE.account_id)
        assert (await first.get(callback)).status_code == 302
    old_code = query_of(callback)["code"]

    async with httpx.AsyncClient(base_url=api_server.url) as second:
        dance = await dance_begin(second)
        state = query_of(dance.authorize_url)["state"]
        replay = await second.get("/oauth/callback", params={"code": old_code, "state": state})
        me = await second.get("/me")

    assert replay.status_code == 400
    assert me.status_code == 401


async def test_an_atlassian_outage_at_the_callback_is_a_page_and_no_session(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    calls = (
        "POST /oauth/token",
        "GET /oauth/token/accessible-resources",
        "GET /ex/jira/{cloudId}/rest/api/3/myself",
    )
    outcomes = []
    for target, path in (("oauth", "/oauth/token$"), ("jira", "accessible-resources$")):
        httpx.post(sandbox_url + "/_sandbox/reset", timeout=5).raise_for_status()
        fault = {"target": target, "path_regex": path, "mode": "status", "status": 503, "count": 1}
        httpx.post(sandbox_url + "/_sandbox/faults", json=fault, timeout=5).raise_for_status()
        async with httpx.AsyncClient(base_url=api_server.url) as client:
            callback = await dance_consent(await dance_begin(client), ALICE.account_id)
            page = await client.get(callback)
            me = await client.get("/me")
        routes = httpx.get(sandbox_url + "/_sandbox/stats", timeout=5).json()["routes"]
        outcomes.append(
            (
                page.status_code,
                "La connexion n\u2019a pas abouti" in page.text,
                me.status_code,
                [routes.get(call, 0) for call in calls],
            )
        )

    # The exchange failed, then (with a good exchange) the first identifying call: each stops
    # the sign-in where it happened.
    assert outcomes == [(400, True, 401, [1, 0, 0]), (400, True, 401, [1, 1, 0])]


async def test_next_may_only_point_inside_the_site(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    landed = {}
    for next_url in (
        "https://evil.example/steal",
        "//evil.example/x",
        "/\\evil.example",
        "/ui?tab=jql",
    ):
        async with httpx.AsyncClient(base_url=api_server.url) as client:
            callback = await dance_consent(await dance_begin(client, next_url), BRUNO.account_id)
            landed[next_url] = (await client.get(callback)).headers["location"]

    assert landed == {
        "https://evil.example/steal": "/ui",
        "//evil.example/x": "/ui",
        "/\\evil.example": "/ui",
        "/ui?tab=jql": "/ui?tab=jql",
    }


async def test_tampered_or_forged_cookie_is_no_session(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    sid, signature = client.cookies["sid"].split(":")
    tampered = f"{sid}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"

    async with httpx.AsyncClient(base_url=api_server.url, cookies={"sid": tampered}) as forged:
        bad = await forged.get("/me")
    async with httpx.AsyncClient(base_url=api_server.url, cookies={"sid": sid}) as unsigned:
        bare = await unsigned.get("/me")

    assert bad.status_code == 401
    assert bad.json()["code"] == "not_authenticated"
    assert bare.status_code == 401


async def test_logout_destroys_the_session_and_a_replayed_cookie_is_refused(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    cookie = client.cookies["sid"]
    sid = cookie.split(":")[0]
    assert _redis().exists(f"session:{sid}", f"vault:{sid}") == 2

    out = await client.post("/logout")

    assert out.status_code == 302
    assert out.headers["location"] == "/login"
    assert _redis().exists(f"session:{sid}", f"vault:{sid}") == 0
    async with httpx.AsyncClient(base_url=api_server.url, cookies={"sid": cookie}) as replay:
        again = await replay.get("/me")
    assert again.status_code == 401
    assert again.json()["code"] == "session_expired"


async def test_csrf_is_checked_after_the_session(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        signed_out = await anonymous.put("/me/site", json={"cloud_id": ACME.cloud_id})
    without_token = await client.put(
        "/me/site", json={"cloud_id": ACME.cloud_id}, headers={"X-CSRFToken": ""}
    )

    assert signed_out.status_code == 401
    assert signed_out.json()["code"] == "not_authenticated"
    assert without_token.status_code == 403
    assert without_token.json()["code"] == "csrf_failed"


async def test_a_site_of_another_user_is_forbidden(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(BRUNO.account_id)

    own = await client.get("/me", params={"cloud_id": ACME.cloud_id})
    other = await client.get("/me", params={"cloud_id": GLOBEX.cloud_id})
    switch = await client.put("/me/site", json={"cloud_id": GLOBEX.cloud_id})

    assert own.status_code == 200
    assert [s["cloud_id"] for s in own.json()["sites"]] == [ACME.cloud_id]
    assert other.status_code == 403
    assert other.json()["code"] == "site_forbidden"
    assert switch.status_code == 403
    assert switch.json()["code"] == "site_forbidden"


async def test_sign_in_helper_sets_the_chosen_site(
    api_server: ServerProcess, sandbox_url: str
) -> None:
    client = await sign_in(api_server.url, ALICE.account_id, cloud_id=GLOBEX.cloud_id)
    try:
        me = (await client.get("/me")).json()
    finally:
        await client.aclose()

    assert me["current_cloud_id"] == GLOBEX.cloud_id
    assert client.headers["X-CSRFToken"] == client.cookies["csrftoken"]


async def test_logout_and_login_without_the_csrf_token_answer_csrf_failed(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    sid = _sid(client)

    logout = await client.post("/logout", headers={"X-CSRFToken": ""})
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        login = await anonymous.post("/login", data={})

    expected = {
        "detail": "CSRF check failed: send the X-CSRFToken header from the csrftoken cookie.",
        "code": "csrf_failed",
    }
    assert (logout.status_code, logout.json()) == (403, expected)
    assert (login.status_code, login.json()) == (403, expected)
    assert _redis().exists(f"session:{sid}") == 1  # the refused logout destroyed nothing


async def test_a_browser_without_the_csrf_token_gets_a_page(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as browser:
        page = await browser.post("/login", data={}, headers={"Accept": "text/html"})

    assert page.status_code == 403
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-security-policy" in page.headers
    assert 'href="/login"' in page.text
