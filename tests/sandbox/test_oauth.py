"""Atlassian OAuth 2.0 (3LO) stand-in: consent page, codes, tokens, rotation, gateway errors."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.atlassian.data import ACCOUNTS, ALICE, BRUNO, CHLOE
from tests.sandbox.atlassian_helpers import JiraClient
from tests.support.ids import ACME, GLOBEX
from tests.support.signin import (
    DEMO_CLIENT,
    DEMO_REDIRECT,
    DEMO_SECRET,
    authorize_params,
    authorize_url,
    consent,
    exchange,
    get_code,
    refresh,
    tokens_for,
)


def _query(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


def test_consent_page_is_an_accessible_french_form_without_cookies(sandbox_url: str) -> None:
    page = httpx.get(f"{sandbox_url}/authorize", params=authorize_params(state='a&b"<c>'))
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "set-cookie" not in page.headers
    text = page.text
    assert '<html lang="fr">' in text
    assert "<script" not in text
    assert "jira-ai (démo)" in text
    assert '<form method="post" action="/authorize">' in text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text))
    assert {k: html.unescape(v) for k, v in hidden.items()} == authorize_params(state='a&b"<c>')
    radios = re.findall(r'<input type="radio" name="account_id" value="([^"]+)"( checked)?>', text)
    assert [r[0] for r in radios] == list(ACCOUNTS)
    assert [bool(r[1]) for r in radios] == [True, False, False]
    for account in ACCOUNTS.values():
        assert html.escape(account.display_name) in text
    assert '<button type="submit" name="decision" value="accept">Accepter</button>' in text
    assert '<button type="submit" name="decision" value="deny">Refuser</button>' in text
    assert "<legend>" in text
    assert "<title>" in text
    assert "read:jira-work" in text


def test_accept_redirects_with_code_and_state(sandbox_url: str) -> None:
    query = _query(consent(authorize_url(sandbox_url, state="s t&x"), ALICE.account_id))
    assert query["state"] == ["s t&x"]
    assert query["code"][0].startswith("sbx-")
    response = consent(authorize_url(sandbox_url), ALICE.account_id)
    assert response.headers["location"].startswith(DEMO_REDIRECT + "?code=sbx-")


def test_deny_redirects_with_access_denied(sandbox_url: str) -> None:
    query = _query(consent(authorize_url(sandbox_url), ALICE.account_id, decision="deny"))
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
    assert query["error_description"][0]
    assert "code" not in query


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"client_id": "nobody"}, "client_id"),
        ({"redirect_uri": "http://127.0.0.1:8000/oauth/callback/"}, "redirect_uri"),
        ({"redirect_uri": "http://evil.example/cb"}, "redirect_uri"),
        ({"redirect_uri": ""}, "redirect_uri"),
    ],
)
def test_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(
    sandbox_url: str, override: dict[str, str], reason: str
) -> None:
    for method in ("GET", "POST"):
        params = authorize_params(**override)
        if method == "GET":
            response = httpx.get(f"{sandbox_url}/authorize", params=params)
        else:
            form = {**params, "account_id": ALICE.account_id, "decision": "accept"}
            response = httpx.post(f"{sandbox_url}/authorize", data=form)
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert reason in response.text


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"audience": "example.com"}, "invalid_request"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": "read:jira-work fly:to-the-moon"}, "invalid_scope"),
    ],
)
def test_bad_parameters_redirect_with_an_error(
    sandbox_url: str, override: dict[str, str], error: str
) -> None:
    response = httpx.get(f"{sandbox_url}/authorize", params=authorize_params(**override))
    query = _query(response)
    assert query["error"] == [error]
    assert query["state"] == ["st-123"]


def test_missing_state_is_refused(sandbox_url: str) -> None:
    params = authorize_params()
    del params["state"]
    query = _query(httpx.get(f"{sandbox_url}/authorize", params=params))
    assert query["error"] == ["invalid_request"]
    assert "state" in query["error_description"][0]


def test_code_exchange_json_and_form(sandbox_url: str) -> None:
    tokens = exchange(sandbox_url, get_code(sandbox_url, ALICE.account_id)).json()
    assert set(tokens) == {"access_token", "refresh_token", "expires_in", "scope", "token_type"}
    assert tokens["access_token"].startswith("sbx-")
    assert tokens["refresh_token"].startswith("sbx-")
    assert tokens["expires_in"] == 3600
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "read:jira-work read:jira-user offline_access"
    form = {
        "grant_type": "authorization_code",
        "client_id": DEMO_CLIENT,
        "client_secret": DEMO_SECRET,
        "code": get_code(sandbox_url, BRUNO.account_id),
        "redirect_uri": DEMO_REDIRECT,
    }
    response = httpx.post(f"{sandbox_url}/oauth/token", data=form)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    assert stats["tokens_issued"] == 2
    assert stats["refreshes"] == 0


def test_no_refresh_token_without_offline_access(sandbox_url: str) -> None:
    tokens = tokens_for(sandbox_url, ALICE.account_id, scope="read:jira-work")
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "read:jira-work"


def test_code_is_single_use(sandbox_url: str) -> None:
    code = get_code(sandbox_url, ALICE.account_id)
    first = exchange(sandbox_url, code)
    assert first.status_code == 200
    again = exchange(sandbox_url, code)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "authorization_code is invalid",
    }
    # RFC 6749 4.1.2: replaying a code revokes what it issued.
    jira = JiraClient(sandbox_url, first.json()["access_token"])
    assert jira.get("myself").status_code == 401
    assert refresh(sandbox_url, first.json()["refresh_token"]).status_code == 403


def test_expired_code_is_refused(sandbox_url: str) -> None:
    code = get_code(sandbox_url, ALICE.account_id)
    assert httpx.post(f"{sandbox_url}/_sandbox/codes/expire").json() == {"expired": 1}
    response = exchange(sandbox_url, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_wrong_redirect_uri_at_exchange(sandbox_url: str) -> None:
    code = get_code(sandbox_url, ALICE.account_id)
    response = exchange(sandbox_url, code, redirect_uri="http://127.0.0.1:8000/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_wrong_secret_or_client(sandbox_url: str) -> None:
    code = get_code(sandbox_url, ALICE.account_id)
    bad = exchange(sandbox_url, code, client_secret="nope")
    assert bad.status_code == 401
    assert bad.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    assert exchange(sandbox_url, code, client_id="other").status_code == 401
    assert exchange(sandbox_url, code).status_code == 200  # a failed attempt did not burn it


def test_unsupported_grant_and_bad_body(sandbox_url: str) -> None:
    response = httpx.post(f"{sandbox_url}/oauth/token", json={"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    response = httpx.post(
        f"{sandbox_url}/oauth/token",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_reuse_revokes_the_family(sandbox_url: str) -> None:
    tokens = tokens_for(sandbox_url, ALICE.account_id)
    first = refresh(sandbox_url, tokens["refresh_token"])
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    assert rotated["scope"] == tokens["scope"]
    # the old one is dead, and presenting it kills the family, including the new one
    reuse = refresh(sandbox_url, tokens["refresh_token"])
    assert reuse.status_code == 403
    assert reuse.json() == {
        "error": "invalid_grant",
        "error_description": "Unknown or invalid refresh token.",
    }
    assert refresh(sandbox_url, rotated["refresh_token"]).status_code == 403
    # access tokens already issued keep working until they expire
    assert JiraClient(sandbox_url, rotated["access_token"]).get("myself").status_code == 200
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    assert stats["refreshes"] == 1
    assert stats["tokens_issued"] == 2


def test_refresh_chain_and_other_client_rejected(sandbox_url: str) -> None:
    token = tokens_for(sandbox_url, CHLOE.account_id)["refresh_token"]
    for _ in range(3):
        response = refresh(sandbox_url, token)
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    assert refresh(sandbox_url, token, client_secret="bad").status_code == 401
    assert refresh(sandbox_url, "sbx-rt-unknown").status_code == 403
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["refreshes"] == 3


def test_expired_access_token_is_401_and_refresh_still_works(sandbox_url: str) -> None:
    tokens = tokens_for(sandbox_url, ALICE.account_id)
    jira = JiraClient(sandbox_url, tokens["access_token"])
    assert jira.get("myself").status_code == 200
    expired = httpx.post(
        f"{sandbox_url}/_sandbox/tokens/expire", json={"access_token": tokens["access_token"]}
    )
    assert expired.json() == {"expired": 1}
    response = jira.get("myself")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}
    fresh = refresh(sandbox_url, tokens["refresh_token"]).json()
    assert JiraClient(sandbox_url, fresh["access_token"]).get("myself").status_code == 200


def test_expire_by_account_and_all(sandbox_url: str) -> None:
    alice = tokens_for(sandbox_url, ALICE.account_id)["access_token"]
    bruno = tokens_for(sandbox_url, BRUNO.account_id)["access_token"]
    ok = httpx.post(f"{sandbox_url}/_sandbox/tokens/expire", json={"account_id": BRUNO.account_id})
    assert ok.json() == {"expired": 1}
    assert JiraClient(sandbox_url, alice).get("myself").status_code == 200
    assert JiraClient(sandbox_url, bruno).get("myself").status_code == 401
    assert httpx.post(f"{sandbox_url}/_sandbox/tokens/expire", json={}).json() == {"expired": 1}
    assert JiraClient(sandbox_url, alice).get("myself").status_code == 401


def test_revoke_kills_refresh_tokens(sandbox_url: str) -> None:
    tokens = tokens_for(sandbox_url, ALICE.account_id)
    response = httpx.post(
        f"{sandbox_url}/_sandbox/tokens/revoke", json={"account_id": ALICE.account_id}
    )
    assert response.json() == {"revoked": 1}
    assert refresh(sandbox_url, tokens["refresh_token"]).status_code == 403


def test_token_ttl_comes_from_config(sandbox_server: object) -> None:
    from tests.support.servers import start_sandbox

    server = start_sandbox(["--token-ttl", "1", "--seed", "7"])
    try:
        tokens = tokens_for(server.url, ALICE.account_id)
        assert tokens["expires_in"] == 1
    finally:
        server.stop()


def test_registered_clients_survive_reset(sandbox_url: str) -> None:
    client = {
        "client_id": "test-app",
        "client_secret": "test-secret",
        "redirect_uris": ["http://127.0.0.1:5555/cb"],
        "name": "Test <App>",
    }
    assert httpx.post(f"{sandbox_url}/_sandbox/clients", json=client).status_code == 201
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    page = httpx.get(
        f"{sandbox_url}/authorize",
        params=authorize_params(client_id="test-app", redirect_uri="http://127.0.0.1:5555/cb"),
    )
    assert page.status_code == 200
    assert "Test &lt;App&gt;" in page.text
    code = get_code(
        sandbox_url,
        CHLOE.account_id,
        client_id="test-app",
        redirect_uri="http://127.0.0.1:5555/cb",
    )
    response = exchange(
        sandbox_url,
        code,
        client_id="test-app",
        client_secret="test-secret",
        redirect_uri="http://127.0.0.1:5555/cb",
    )
    assert response.status_code == 200
    bad = httpx.post(f"{sandbox_url}/_sandbox/clients", json={"client_id": "x"})
    assert bad.status_code == 400


def test_reset_forgets_tokens(sandbox_url: str) -> None:
    tokens = tokens_for(sandbox_url, ALICE.account_id)
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    assert JiraClient(sandbox_url, tokens["access_token"]).get("myself").status_code == 401
    assert refresh(sandbox_url, tokens["refresh_token"]).status_code == 403


def test_accessible_resources_per_account(sandbox_url: str) -> None:
    expected = {ALICE: [ACME, GLOBEX], BRUNO: [ACME], CHLOE: [GLOBEX]}
    for account, sites in expected.items():
        token = tokens_for(sandbox_url, account.account_id)["access_token"]
        response = httpx.get(
            f"{sandbox_url}/oauth/token/accessible-resources",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        resources = response.json()
        assert [r["id"] for r in resources] == sites
        for resource in resources:
            assert set(resource) == {"id", "name", "url", "scopes", "avatarUrl"}
            assert resource["scopes"] == ["read:jira-work", "read:jira-user"]
            assert resource["url"] == f"https://{resource['name']}.atlassian.net"
    anonymous = httpx.get(f"{sandbox_url}/oauth/token/accessible-resources")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"code": 401, "message": "Unauthorized"}


def test_gateway_errors(sandbox_url: str) -> None:
    bruno = tokens_for(sandbox_url, BRUNO.account_id)["access_token"]
    not_granted = JiraClient(sandbox_url, bruno, GLOBEX).get("myself")
    assert not_granted.status_code == 401
    assert not_granted.json() == {"code": 401, "message": "Unauthorized"}
    unknown = JiraClient(sandbox_url, bruno, "00000000-0000-0000-0000-000000000000").get("myself")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": 404, "message": "Not Found"}
    garbage = JiraClient(sandbox_url, "sbx-at-garbage").get("myself")
    assert garbage.json() == {"code": 401, "message": "Unauthorized"}
    no_header = httpx.get(f"{sandbox_url}/ex/jira/{ACME}/rest/api/3/myself")
    assert no_header.status_code == 401
    work_only = tokens_for(sandbox_url, ALICE.account_id, scope="read:jira-work")["access_token"]
    scoped = JiraClient(sandbox_url, work_only).get("myself")
    assert scoped.status_code == 401
    assert scoped.json() == {"code": 401, "message": "Unauthorized; scope does not match"}
    assert JiraClient(sandbox_url, work_only).get("field").status_code == 200


def test_oauth_faults(sandbox_url: str) -> None:
    fault = {"target": "oauth", "mode": "status", "status": 503, "retry_after": 2, "count": 1}
    assert httpx.post(f"{sandbox_url}/_sandbox/faults", json=fault).status_code == 201
    code = get_code_after_fault(sandbox_url)
    response = exchange(sandbox_url, code)
    assert response.status_code == 200


def get_code_after_fault(url: str) -> str:
    page = httpx.get(f"{url}/authorize", params=authorize_params())
    assert page.status_code == 503
    assert page.headers["retry-after"] == "2"
    assert page.json()["error"] == "server_error"
    return get_code(url, ALICE.account_id)


def test_no_cookie_anywhere_in_the_flow(sandbox_url: str) -> None:
    responses = [
        httpx.get(f"{sandbox_url}/authorize", params=authorize_params()),
        consent(authorize_url(sandbox_url), ALICE.account_id),
        exchange(sandbox_url, get_code(sandbox_url, ALICE.account_id)),
    ]
    for response in responses:
        assert "set-cookie" not in response.headers


AGILE_SCOPES = [
    "read:board-scope:jira-software",
    "read:sprint:jira-software",
    "read:project:jira",
    "read:issue-details:jira",
    "read:jql:jira",
]
ALL_SCOPES = " ".join(["read:jira-work", "read:jira-user", "offline_access", *AGILE_SCOPES])


def test_a_scope_the_app_has_not_enabled_fails_the_authorization_with_invalid_scope(
    sandbox_url: str,
) -> None:
    enabled = ["read:jira-work", "read:jira-user", "offline_access", *AGILE_SCOPES[:-1]]
    set_scopes = httpx.post(
        f"{sandbox_url}/_sandbox/clients/{DEMO_CLIENT}/scopes", json={"scopes": enabled}
    )
    assert set_scopes.status_code == 200

    refused = _query(
        httpx.get(f"{sandbox_url}/authorize", params=authorize_params(scope=ALL_SCOPES))
    )
    allowed = httpx.get(
        f"{sandbox_url}/authorize", params=authorize_params(scope=" ".join(enabled))
    )

    assert refused["error"] == ["invalid_scope"]
    assert refused["error_description"] == [
        "This app has requested scopes that have not been added to the app: read:jql:jira"
    ]
    assert refused["state"] == ["st-123"]
    assert allowed.status_code == 200
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    restored = httpx.get(f"{sandbox_url}/authorize", params=authorize_params(scope=ALL_SCOPES))
    assert restored.status_code == 200


def test_a_new_client_enables_jira_ais_scopes_unless_told_otherwise(sandbox_url: str) -> None:
    default = httpx.post(
        f"{sandbox_url}/_sandbox/clients",
        json={
            "client_id": "scopes-default",
            "client_secret": "s",
            "redirect_uris": [DEMO_REDIRECT],
        },
    )
    classic_only = httpx.post(
        f"{sandbox_url}/_sandbox/clients",
        json={
            "client_id": "scopes-classic",
            "client_secret": "s",
            "redirect_uris": [DEMO_REDIRECT],
            "scopes": ["read:jira-work", "read:jira-user", "offline_access"],
        },
    )
    bad = httpx.post(
        f"{sandbox_url}/_sandbox/clients",
        json={
            "client_id": "x",
            "client_secret": "s",
            "redirect_uris": [DEMO_REDIRECT],
            "scopes": ["fly"],
        },
    )

    assert default.json()["scopes"] == sorted(ALL_SCOPES.split())
    assert classic_only.status_code == 201
    assert bad.status_code == 400
    params = authorize_params(client_id="scopes-classic", scope=ALL_SCOPES)
    assert _query(httpx.get(f"{sandbox_url}/authorize", params=params))["error"] == [
        "invalid_scope"
    ]


def test_withheld_scopes_are_left_out_of_the_grant_and_of_accessible_resources(
    sandbox_url: str,
) -> None:
    withheld = httpx.post(
        f"{sandbox_url}/_sandbox/grants/withhold", json={"scopes": AGILE_SCOPES[:2]}
    )
    assert withheld.json() == {"withheld": sorted(AGILE_SCOPES[:2])}

    tokens = tokens_for(sandbox_url, ALICE.account_id, scope=ALL_SCOPES)
    resources = httpx.get(
        f"{sandbox_url}/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ).json()
    boards = httpx.get(
        f"{sandbox_url}/ex/jira/{ACME}/rest/agile/1.0/board",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    granted = ["read:jira-work", "read:jira-user", "offline_access", *AGILE_SCOPES[2:]]
    assert tokens["scope"] == " ".join(granted)
    assert resources[0]["scopes"] == [s for s in granted if s != "offline_access"]
    assert boards.status_code == 401
    assert boards.json() == {"code": 401, "message": "Unauthorized; scope does not match"}
    assert JiraClient(sandbox_url, tokens["access_token"]).get("myself").status_code == 200
    rotated = refresh(sandbox_url, tokens["refresh_token"]).json()
    assert rotated["scope"] == tokens["scope"]
