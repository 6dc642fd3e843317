"""The sandbox's JQL tooling as Jira Cloud serves it: ``POST jql/parse`` (strict, warn, none),
``GET jql/autocompletedata`` and its ``/suggestions``, every answer validated against the official
OpenAPI document (``test_openapi.check``), Jira's own wording of the messages (the document's
examples), and the tooling agreeing with the search: what autocomplete lists, the parser accepts,
and a query the parser accepts in strict mode runs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sandbox.atlassian.data import ALICE, Dataset
from tests.sandbox.atlassian_helpers import JiraClient
from tests.sandbox.test_openapi import SPEC_PATH, _date_time, check
from tests.support.servers import ServerProcess
from tests.support.signin import tokens_for

# The document's one flaw here: ``JqlQueryClause`` is ``anyOf`` the clause kinds *and*
# ``additionalProperties: false`` with no properties of its own, so that no clause at all (not
# even the document's own example, see ``test_the_documents_flaw``) validates. Dropping that
# ``additionalProperties`` is the deviation; every other rule of the document stands.
FLAWED = ("JqlQueryClause",)


def _document(patched: bool) -> OpenAPI:
    document = json.loads(SPEC_PATH.read_text())
    if patched:
        for name in FLAWED:
            document["components"]["schemas"][name].pop("additionalProperties")
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _date_time})
    return OpenAPI.from_dict(document, config=config)


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return _document(patched=True)


@pytest.fixture(scope="module")
def alice(sandbox_server: ServerProcess) -> JiraClient:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset").raise_for_status()
    return JiraClient(
        sandbox_server.url, tokens_for(sandbox_server.url, ALICE.account_id)["access_token"]
    )


DATA = Dataset(42)
PARSE = "/rest/api/3/jql/parse"
AUTOCOMPLETE = "/rest/api/3/jql/autocompletedata"
SUGGESTIONS = "/rest/api/3/jql/autocompletedata/suggestions"


def parse(client: JiraClient, queries: list[str], validation: str = "strict") -> httpx.Response:
    return httpx.post(
        f"{client.base}/jql/parse",
        params={"validation": validation},
        json={"queries": queries},
        headers=client.headers,
        timeout=30,
    )


def parsed(openapi: OpenAPI, client: JiraClient, query: str, validation: str) -> dict[str, Any]:
    body = check(openapi, parse(client, [query], validation), PARSE)
    assert [q["query"] for q in body["queries"]] == [query]
    entry: dict[str, Any] = body["queries"][0]
    return entry


GOOD = [
    "project = PAY AND issuetype = Bug AND statusCategory != Done ORDER BY priority DESC",
    'status in ("In Progress", "To Do") AND assignee = currentUser()',
    "sprint in openSprints() AND labels is EMPTY",
    '"Story point estimate" >= 5 AND created >= -30d ORDER BY created DESC, key ASC',
    'NOT (priority in (High, Highest)) OR summary ~ "paiement"',
]


@pytest.mark.parametrize("validation", ["strict", "warn", "none"])
@pytest.mark.parametrize("query", GOOD)
def test_valid_queries_have_a_structure(
    openapi: OpenAPI,
    alice: JiraClient,
    query: str,
    validation: str,
) -> None:
    entry = parsed(openapi, alice, query, validation)
    assert "errors" not in entry
    assert "warnings" not in entry
    assert entry["structure"]["where"]
    # what strict accepts, the search runs
    count = alice.post("search/approximate-count", {"jql": query})
    assert count.status_code == 200, count.text


def test_structure_of_a_compound_query(openapi: OpenAPI, alice: JiraClient) -> None:
    entry = parsed(openapi, alice, GOOD[1] + " ORDER BY updated DESC", "strict")
    where = entry["structure"]["where"]
    assert where["operator"] == "and"
    status, assignee = where["clauses"]
    assert status["field"] == {"name": "status", "encodedName": "status"}
    assert status["operator"] == "in"
    assert [v["value"] for v in status["operand"]["values"]] == ["In Progress", "To Do"]
    assert status["operand"]["values"][0]["encodedValue"] == '"In Progress"'
    assert assignee["operand"] == {
        "function": "currentUser",
        "arguments": [],
        "encodedOperand": "currentUser()",
    }
    assert entry["structure"]["orderBy"]["fields"] == [
        {"field": {"name": "updated", "encodedName": "updated"}, "direction": "desc"}
    ]


# The OpenAPI document's own examples of parseJqlQueries' answers, in Jira's words.
UNKNOWN_FIELD = "Field 'universe' does not exist or you do not have permission to view it."
UNKNOWN_PROJECT = "The value 'INVALID' does not exist for the field 'project'."
SUMMARY_EQUALS = "The operator '=' is not supported by the 'summary' field."


def test_messages_in_jiras_words(openapi: OpenAPI, alice: JiraClient) -> None:
    strict = check(
        openapi,
        parse(alice, ["universe = 42", "project = INVALID", "summary = test"], "strict"),
        PARSE,
    )["queries"]
    assert [q.get("errors") for q in strict] == [
        [UNKNOWN_FIELD],
        [UNKNOWN_PROJECT],
        [SUMMARY_EQUALS],
    ]
    assert all("structure" not in q for q in strict)
    # warn: a missing value is a warning and the well-formed query keeps its structure
    warn = parsed(openapi, alice, "project = INVALID", "warn")
    assert warn["warnings"] == [UNKNOWN_PROJECT]
    assert "errors" not in warn
    assert warn["structure"]["where"]["operand"] == {"value": "INVALID", "encodedValue": "INVALID"}
    assert parsed(openapi, alice, "summary = test", "warn")["errors"] == [SUMMARY_EQUALS]
    # none: no validation at all
    assert set(parsed(openapi, alice, "project = INVALID", "none")) == {"query", "structure"}
    # a syntax error is an error in every mode, without a structure
    for validation in ("strict", "warn", "none"):
        broken = parsed(openapi, alice, "project = PAY AND (", validation)
        assert broken["errors"][0].startswith("Error in the JQL Query:")
        assert "structure" not in broken


def test_every_message_of_a_query(openapi: OpenAPI, alice: JiraClient) -> None:
    entry = parsed(openapi, alice, "project = NOPE AND priority = Urgentissime", "strict")
    assert entry["errors"] == [
        "The value 'NOPE' does not exist for the field 'project'.",
        "The value 'Urgentissime' does not exist for the field 'priority'.",
    ]


def test_the_search_agrees_with_strict(alice: JiraClient) -> None:
    for query in ("project = INVALID", "summary = test", "universe = 42"):
        [entry] = parse(alice, [query]).json()["queries"]
        refused = alice.post("search/approximate-count", {"jql": query})
        assert refused.status_code == 400
        assert refused.json()["errorMessages"] == entry["errors"]


def test_bad_requests(alice: JiraClient) -> None:
    missing = httpx.post(
        f"{alice.base}/jql/parse", json={"queries": ["project = PAY"]}, headers=alice.headers
    )
    assert missing.status_code == 400
    assert parse(alice, ["project = PAY"], "loose").status_code == 400
    assert parse(alice, []).status_code == 400
    assert parse(alice, [""]).status_code == 400
    unauthenticated = httpx.post(
        f"{alice.base}/jql/parse", params={"validation": "strict"}, json={"queries": ["x = 1"]}
    )
    assert unauthenticated.status_code == 401


def test_autocomplete_data(openapi: OpenAPI, alice: JiraClient) -> None:
    data = check(openapi, alice.get("jql/autocompletedata"), AUTOCOMPLETE)
    fields = {f["value"]: f for f in data["visibleFieldNames"]}
    assert {"project", "status", "priority", "issuetype", "assignee", "Sprint"} <= set(fields)
    assert fields["Sprint"]["cfid"] == "cf[10020]"
    assert fields["summary"]["operators"] == ["~", "!~", "is", "is not"]
    assert all(f["searchable"] == "true" for f in fields.values())
    assert "currentUser()" in {f["value"] for f in data["visibleFunctionNames"]}
    assert {"and", "or", "empty"} <= set(data["jqlReservedWords"])
    # every listed field is one the parser knows
    for value, field in fields.items():
        operator = field["operators"][0]
        operand = '"x"' if operator == "~" else "EMPTY"
        query = f"{value} {operator} {operand}" if operator != "is" else f"{value} is EMPTY"
        [entry] = parse(alice, [query], "none").json()["queries"]
        assert "errors" not in entry, (query, entry)


@pytest.mark.parametrize("field", ["priority", "issuetype", "status", "project"])
def test_suggestions(openapi: OpenAPI, alice: JiraClient, field: str) -> None:
    body = check(
        openapi, alice.get(SUGGESTIONS.removeprefix("/rest/api/3/"), fieldName=field), SUGGESTIONS
    )
    values = [r["value"] for r in body["results"]]
    assert values
    quoted = ", ".join('"' + v.replace('"', '\\"') + '"' for v in values)
    [entry] = parse(alice, [f"{field} in ({quoted})"]).json()["queries"]
    assert "errors" not in entry, entry


def test_suggestions_highlight_the_typed_prefix(openapi: OpenAPI, alice: JiraClient) -> None:
    body = check(
        openapi,
        alice.get("jql/autocompletedata/suggestions", fieldName="priority", fieldValue="hi"),
        SUGGESTIONS,
    )
    assert body["results"] == [
        {"value": "Highest", "displayName": "<b>Hi</b>ghest"},
        {"value": "High", "displayName": "<b>Hi</b>gh"},
    ]
    unknown = alice.get("jql/autocompletedata/suggestions", fieldName="universe")
    assert unknown.status_code == 200
    assert unknown.json() == {"results": []}


def test_the_documents_flaw() -> None:
    """The document's own example answer of parseJqlQueries fails the document's schema, and
    passes once ``JqlQueryClause`` lets its clauses have their properties."""
    document = json.loads(SPEC_PATH.read_text())
    operation = document["paths"][PARSE]["post"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    request = MockRequest(
        "https://your-domain.atlassian.net",
        "post",
        PARSE,
        path_pattern=PARSE,
        args={"validation": "strict"},
        data=json.dumps({"queries": ["summary ~ test"]}).encode(),
    )
    response = MockResponse(example.encode(), status_code=200, content_type="application/json")
    with pytest.raises(Exception, match="Additional properties"):
        _document(patched=False).validate_response(request, response)
    _document(patched=True).validate_response(request, response)


def _paris_bounds() -> dict[str, dt.datetime]:
    """The starts Jira's date functions stand for, for Alice (Europe/Paris), computed here."""
    local = dt.datetime.now(ZoneInfo(ALICE.time_zone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    month = local.replace(day=1)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    return {
        "startOfDay()": local,
        "startOfWeek()": local - dt.timedelta(days=local.weekday()),
        "startOfMonth()": month,
        "startOfMonth(-1M)": previous,
        "startOfDay(-7)": local - dt.timedelta(days=7),
    }


@pytest.mark.parametrize("function", list(_paris_bounds()))
def test_date_functions(alice: JiraClient, function: str) -> None:
    bound = _paris_bounds()[function]
    jql = f"project = PAY AND created >= {function}"
    [entry] = parse(alice, [jql]).json()["queries"]
    assert "errors" not in entry
    expected = sum(1 for issue in DATA.by_project["PAY"] if issue.created >= bound)
    count = alice.post("search/approximate-count", {"jql": jql})
    assert count.json() == {"count": expected}
    refused = parse(alice, ["created >= startOfWeek(lundi)"]).json()["queries"][0]
    assert refused["errors"] == [
        "Function 'startOfWeek(lundi)' could not parse the increment 'lundi'. The valid format "
        "is (+/-)nn(y|M|w|d), e.g. -1M."
    ]
