"""``POST /jira/search`` (the JQL in a JSON body) and the search's JQL cap, under plain Daphne,
signed in through the sandbox; Jira is asked with ``POST search/jql`` whatever the JQL's length."""

from __future__ import annotations

import httpx
import pytest

from jira.services import MAX_SEARCH_JQL_CHARS
from tests.support.ids import ALICE
from tests.support.sandbox import jira_routes
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH = "POST /ex/jira/{cloudId}/rest/api/3/search/jql"
AB_C_KEYS = [f"AB_C-{n}" for n in range(1, 13)]


def long_jql(length: int) -> str:
    """A real query of exactly ``length`` characters: AB_C's twelve keys listed over and over
    (Jira accepts a key twice in a list), the spaces after the commas widened to the length."""
    keys: list[str] = []
    while len(f"project = AB_C AND key in ({', '.join(keys)}) ORDER BY key ASC") < length - 40:
        keys.append(AB_C_KEYS[len(keys) % 12])
    jql = f"project = AB_C AND key in ({', '.join(keys)}) ORDER BY key ASC"
    padding = length - len(jql)
    assert 0 <= padding < len(keys)
    jql = jql.replace(", ", ",  ", padding)
    assert len(jql) == length
    return jql


@pytest.fixture
async def alice(sign_in_as: SignIn) -> httpx.AsyncClient:
    return await sign_in_as(ALICE)


async def test_a_jql_at_the_cap_in_a_post_body_answers_the_sandboxs_issues(
    alice: httpx.AsyncClient, sandbox_url: str
) -> None:
    jql = long_jql(MAX_SEARCH_JQL_CHARS)

    response = await alice.post(
        "/jira/search", json={"jql": jql, "limit": 100, "refresh": True}, timeout=30
    )

    assert MAX_SEARCH_JQL_CHARS == 20_000
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["key"] for i in body["issues"]] == AB_C_KEYS
    assert (body["total"], body["truncated"]) == (12, False)
    # Jira is asked with the JQL in a body, never in a URL.
    routes = jira_routes(sandbox_url)
    assert routes[SEARCH] == 1
    assert not [r for r in routes if r.startswith("GET ") and "/search" in r]


async def test_post_and_get_answer_the_same(alice: httpx.AsyncClient) -> None:
    params: dict[str, str | int] = {"jql": "project = MOB ORDER BY key ASC", "limit": 5}

    posted = await alice.post("/jira/search", json=params)
    got = await alice.get("/jira/search", params=params)

    assert posted.status_code == got.status_code == 200
    assert posted.json() == got.json()
    assert [i["key"] for i in posted.json()["issues"]] == [f"MOB-{n}" for n in range(1, 6)]


async def test_a_jql_at_the_cap_fits_in_a_get_query_string(alice: httpx.AsyncClient) -> None:
    jql = long_jql(MAX_SEARCH_JQL_CHARS)

    response = await alice.get("/jira/search", params={"jql": jql}, timeout=30)

    assert len(str(response.request.url)) > 16_384  # over Twisted's own limit
    assert response.status_code == 200, response.text
    assert [i["key"] for i in response.json()["issues"]] == AB_C_KEYS


@pytest.mark.parametrize(("method", "where"), [("GET", "query.jql"), ("POST", "jql")])
async def test_a_jql_over_the_cap_is_422(alice: httpx.AsyncClient, method: str, where: str) -> None:
    jql = long_jql(MAX_SEARCH_JQL_CHARS + 1)
    if method == "GET":
        response = await alice.get("/jira/search", params={"jql": jql}, timeout=30)
    else:
        response = await alice.post("/jira/search", json={"jql": jql}, timeout=30)

    assert response.status_code == 422
    assert response.json() == {
        "detail": f"{where}: String should have at most 20000 characters",
        "code": "invalid_input",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"jql": ""}, "jql: String should have at least 1 character"),
        ({"limit": 5}, "jql: Field required"),
        (
            {"jql": "project = PAY", "limit": 1001},
            "limit: Input should be less than or equal to 1000",
        ),
    ],
)
async def test_bad_bodies_are_422(
    alice: httpx.AsyncClient, body: dict[str, object], detail: str
) -> None:
    response = await alice.post("/jira/search", json=body)

    assert response.status_code == 422
    assert response.json() == {"detail": detail, "code": "invalid_input"}


async def test_a_body_that_is_not_json_is_422(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/jira/search", content=b"jql=project", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


async def test_bad_jql_in_a_body_is_422_with_jiras_message(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/jira/search", json={"jql": "project = PAY AND ("})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_jql"
    assert response.json()["detail"].startswith("Invalid JQL: ")


async def test_post_without_the_csrf_token_is_403(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/jira/search",
        json={"jql": "project = PAY"},
        headers={"X-CSRFToken": ""},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_post_signed_out_is_401(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        response = await client.post("/jira/search", json={"jql": "project = PAY"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_openapi_operation_states_the_cap_and_every_status(api_server: ServerProcess) -> None:
    schema = httpx.get(api_server.url + "/openapi.json", timeout=5).json()

    for method in ("get", "post"):
        operation = schema["paths"]["/jira/search"][method]
        assert set(operation["responses"]) == {
            "200",
            "401",
            "403",
            "414",
            "422",
            "431",
            "502",
            "503",
            "504",
        }
        assert "up to 20000 characters" in operation["description"]
        assert "414 `request_too_long`" in operation["description"]
    body = schema["paths"]["/jira/search"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][ref]["properties"]["jql"]["maxLength"] == 20_000
