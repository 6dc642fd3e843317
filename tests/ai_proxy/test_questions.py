"""POST /ai/jql-from-question under Daphne, with the local engine and through ai-service, on the
sandbox's default model: French and English questions each give JQL that Jira's parser (the
sandbox's ``jql/parse``, strict) accepts and whose issues are the ones the question asks for. The
expected issues are the sandbox's own search of the JQL we read the question as (``EXPECTED``),
run over HTTP with Alice's token, never a list written here; the ``approximate_count`` is that
search's size. ``sloppy`` (invalid field names on its first answer) is repaired after Jira's
messages (``repaired: true``, the messages in ``warnings``) or refused with 422 ``invalid_jql``
in Jira's words; a blank question is 422 ``invalid_input`` at no quota point; each question costs
one quota point; the vocabulary is read from Jira once and then cached."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.atlassian_helpers import JiraClient, jira_for
from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.keys import forget_keys
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn

ENV = {"AI_USER_REQUESTS_PER_MINUTE": "1000"}
MODES = ["question_api", "question_remote_api"]
PATH = "/ai/jql-from-question"
AGILE_SCOPES = ["read:board-scope:jira-software", "read:sprint:jira-software"]
NO_FIELD = "does not exist or you do not have permission to view it."

# (question, language, the JQL we read it as). Alice sees PAY (French statuses), MOB and AB_C on
# Acme.
EXPECTED: list[tuple[str, str, str]] = [
    (
        "Quels sont les bugs encore ouverts du projet PAY ?",
        "fr",
        "project = PAY AND issuetype = Bug AND statusCategory != Done",
    ),
    (
        "Which bugs are still open in project PAY?",
        "en",
        "project = PAY AND issuetype = Bug AND statusCategory != Done",
    ),
    ("Mes tickets ouverts", "fr", "assignee = currentUser() AND statusCategory != Done"),
    (
        "My open issues in Mobile App",
        "en",
        "project = MOB AND assignee = currentUser() AND statusCategory != Done",
    ),
    (
        "Les tâches terminées du projet PAY",
        "fr",
        "project = PAY AND issuetype = Task AND statusCategory = Done",
    ),
    (
        "Unassigned stories in MOB",
        "en",
        "project = MOB AND issuetype = Story AND assignee is EMPTY",
    ),
    ("Les tickets non assignés du projet Paiements", "fr", "project = PAY AND assignee is EMPTY"),
    ("Open epics of PAY", "en", "project = PAY AND issuetype = Epic AND statusCategory != Done"),
    (
        "Les tickets du sprint en cours du projet PAY",
        "fr",
        "project = PAY AND sprint in openSprints()",
    ),
    ("Issues of the active sprint in MOB", "en", "project = MOB AND sprint in openSprints()"),
    (
        "Les tickets du projet MOB créés ces 7 derniers jours",
        "fr",
        "project = MOB AND created >= -7d",
    ),
    ("MOB issues updated in the last 14 days", "en", "project = MOB AND updated >= -14d"),
    (
        "Les bugs « En cours » du projet PAY",
        "fr",
        'project = PAY AND issuetype = Bug AND status = "En cours"',
    ),
    ("Issues In Review in Mobile App", "en", 'project = MOB AND status = "In Review"'),
    (
        "Les tickets assignés à Diego Ramos dans PAY",
        "fr",
        'project = PAY AND assignee = "Diego Ramos"',
    ),
    ("Issues of MOB assigned to Emma Schmidt", "en", 'project = MOB AND assignee = "Emma Schmidt"'),
    ("Les tickets signalés par moi dans MOB", "fr", "project = MOB AND reporter = currentUser()"),
    ("PAY issues labelled sepa", "en", "project = PAY AND labels = sepa"),
    ("Les tickets urgents du projet MOB", "fr", "project = MOB AND priority = Highest"),
    (
        "High priority bugs in Mobile App",
        "en",
        "project = MOB AND issuetype = Bug AND priority = High",
    ),
    ("Les tickets ouverts d'Analytics Core", "fr", "project = AB_C AND statusCategory != Done"),
    (
        "Overdue issues in PAY",
        "en",
        "project = PAY AND duedate < now() AND statusCategory != Done",
    ),
    (
        "Les bugs du projet PAY créés cette semaine",
        "fr",
        "project = PAY AND issuetype = Bug AND created >= startOfWeek()",
    ),
    (
        "Done stories of MOB, newest first",
        "en",
        "project = MOB AND issuetype = Story AND statusCategory = Done",
    ),
]


@pytest.fixture(scope="session")
def question_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**ENV)


@pytest.fixture(scope="session")
def question_remote_api(
    server_factory: ServerFactory, ai_service_server: ServerProcess
) -> ServerProcess:
    return server_factory.api(AI_SERVICE_URL=ai_service_server.url, **ENV)


@pytest.fixture(scope="session")
def sloppy_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(OLLAMA_MODEL="sloppy", **ENV)


@pytest.fixture(scope="session")
def quota_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="2")


@pytest.fixture(autouse=True)
async def jira_cache_clean() -> None:
    """No Jira answer (nor vocabulary) cached by an earlier test."""
    await forget_keys("jira:v1:*")


@pytest.fixture
def jira(sandbox_url: str) -> JiraClient:
    """Alice's own view of the sandbox's Jira, to compute the expected issues."""
    return jira_for(sandbox_url, ALICE)


def vocabulary_reads(sandbox_url: str) -> int:
    """Jira's ``jql/autocompletedata`` requests so far (one per vocabulary read from Jira)."""
    routes = sandbox.jira_routes(sandbox_url)
    return sum(n for route, n in routes.items() if route.endswith("/jql/autocompletedata"))


def parse_calls(sandbox_url: str) -> int:
    routes = sandbox.jira_routes(sandbox_url)
    return sum(n for route, n in routes.items() if route.endswith("/jql/parse"))


def keys_of(jira: JiraClient, jql: str) -> set[str]:
    return {issue["key"] for issue in jira.search_all(jql, page=5000, fields=["key"])}


def strict_errors(jira: JiraClient, jql: str) -> list[str]:
    response = httpx.post(
        f"{jira.base}/jql/parse",
        params={"validation": "strict"},
        json={"queries": [jql]},
        headers=jira.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    errors: list[str] = response.json()["queries"][0].get("errors", [])
    return errors


def assert_answers(answer: dict[str, Any], question: str, expected: str, jira: JiraClient) -> None:
    assert answer["question"] == question
    assert answer["valid"] is True
    assert strict_errors(jira, answer["jql"]) == []
    want = keys_of(jira, expected)
    # a comparison of two empty sets would prove nothing (this week's may be empty on a Monday)
    assert want or "startOf" in expected, expected
    got = keys_of(jira, answer["jql"])
    assert got == want, (answer["jql"], expected, len(got), len(want))
    assert answer["approximate_count"] == len(want)
    assert answer["explanation"].strip()
    assert answer["repaired"] is False


def test_the_questions_cover_french_and_english() -> None:
    languages = [language for _, language, _ in EXPECTED]
    assert len(EXPECTED) >= 20
    assert languages.count("fr") >= 10
    assert languages.count("en") >= 10


@pytest.mark.parametrize(
    ("question", "language", "expected"), EXPECTED, ids=[q for q, _, _ in EXPECTED]
)
async def test_a_question_gives_checked_jql_with_the_issues_it_asks_for(
    question_api: ServerProcess,
    signed_in: SignIn,
    jira: JiraClient,
    question: str,
    language: str,
    expected: str,
) -> None:
    client = await signed_in(question_api, ALICE)
    response = await client.post(
        PATH, json={"question": question, "language": language}, timeout=60
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert_answers(answer, question, expected, jira)
    assert answer["language"] == language


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_pay_bugs_in_each_mode_and_the_vocabulary_is_read_once(
    server: ServerProcess, signed_in: SignIn, jira: JiraClient, sandbox_url: str
) -> None:
    question, _, expected = EXPECTED[0]
    client = await signed_in(server, ALICE)
    first = await client.post(PATH, json={"question": question}, timeout=60)
    assert first.status_code == 200, first.text
    assert_answers(first.json(), question, expected, jira)
    reads = vocabulary_reads(sandbox_url)
    assert reads >= 1
    second = await client.post(PATH, json={"question": "Open epics of PAY"}, timeout=60)
    assert second.status_code == 200, second.text
    # the vocabulary came from the cache: no second read of Jira's field names
    assert vocabulary_reads(sandbox_url) == reads


async def test_sloppy_is_repaired_after_jiras_messages(
    sloppy_api: ServerProcess, signed_in: SignIn, jira: JiraClient
) -> None:
    question, _, expected = EXPECTED[0]
    client = await signed_in(sloppy_api, ALICE)
    response = await client.post(PATH, json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["repaired"] is True
    assert answer["valid"] is True
    assert strict_errors(jira, answer["jql"]) == []
    assert keys_of(jira, answer["jql"]) == keys_of(jira, expected)
    # the messages Jira gave on the first proposal, in its words
    assert answer["warnings"]
    first_errors = [w for w in answer["warnings"] if w.endswith(NO_FIELD)]
    assert first_errors, answer["warnings"]


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_a_query_jira_refuses_twice_is_invalid_jql_in_jiras_words(
    server: ServerProcess, signed_in: SignIn, jira: JiraClient, fast_llm: str
) -> None:
    """A text search without a word: the model proposes it, Jira refuses it, the repair turn
    proposes it again, and the answer is Jira's message."""
    client = await signed_in(server, ALICE)
    calls = sandbox.llm_requests(fast_llm)
    response = await client.post(
        PATH, json={"question": "Les tickets de PAY contenant « ?? »"}, timeout=60
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_jql"
    [jira_words] = strict_errors(jira, 'project = PAY AND text ~ "??"')
    assert body["detail"] == f"Invalid JQL: {jira_words}"
    # the proposal and its one repair
    assert sandbox.llm_requests(fast_llm) == calls + 2


async def test_a_question_with_no_criterion_never_becomes_a_query_of_everything(
    question_api: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    """The engine refuses an empty proposal (the model found no criterion): the question's
    fault, 422 ``question_not_understood`` (it was a 502 until ``make fuzz`` flagged it), and
    Jira is never asked to check nothing."""
    client = await signed_in(question_api, ALICE)
    parses = parse_calls(sandbox_url)
    response = await client.post(PATH, json={"question": "Bonjour, ça va ?"}, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "question_not_understood"
    assert parse_calls(sandbox_url) == parses


async def test_a_grant_without_the_agile_scopes_still_asks_quietly(
    question_api: ServerProcess, signed_in: SignIn, jira: JiraClient, fast_llm: str
) -> None:
    """No sprint names in the vocabulary, and the site is not marked as needing a new consent
    (the question does without the sprints)."""
    sandbox.withhold_scopes(fast_llm, AGILE_SCOPES)
    client = await signed_in(question_api, ALICE)
    question, _, expected = EXPECTED[0]
    response = await client.post(PATH, json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    assert_answers(response.json(), question, expected, jira)
    me = (await client.get("/me")).json()
    assert [site["needs_reauth"] for site in me["sites"]] == [False] * len(me["sites"])


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
async def test_a_blank_question_is_invalid_input_at_no_quota_point(
    quota_api: ServerProcess, signed_in: SignIn, question: str
) -> None:
    client = await signed_in(quota_api, ALICE)
    for _ in range(3):
        response = await client.post(PATH, json={"question": question})
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_input"


async def test_one_quota_point_a_question(quota_api: ServerProcess, signed_in: SignIn) -> None:
    client = await signed_in(quota_api, ALICE)
    for _ in range(2):
        ok = await client.post(PATH, json={"question": "Open epics of PAY"}, timeout=60)
        assert ok.status_code == 200, ok.text
    over = await client.post(PATH, json={"question": "Open epics of PAY"}, timeout=60)
    assert over.status_code == 429
    assert over.json()["code"] == "rate_limited"
    assert int(over.headers["Retry-After"]) >= 1


async def test_the_openapi_document_lists_the_endpoint(question_api: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=question_api.url) as client:
        document = (await client.get("/openapi.json")).json()
    operation = document["paths"][PATH]["post"]
    assert set(operation["responses"]) >= {"200", "401", "403", "422", "429", "502", "503", "504"}
    schema = document["components"]["schemas"]["JqlFromQuestion"]
    assert set(schema["properties"]) == {
        "question",
        "jql",
        "explanation",
        "valid",
        "warnings",
        "approximate_count",
        "language",
        "repaired",
    }
