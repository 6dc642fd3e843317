"""JiraClient against the sandbox: pagination, comments, permissions, every fault mode, the
breaker. Tokens come from the sandbox directly (no app session)."""

from __future__ import annotations

import math

import httpx
import pytest

from jira.errors import (
    InvalidJql,
    IssueNotFound,
    JiraBadResponse,
    JiraCircuitOpen,
    JiraForbidden,
    JiraRateLimited,
    JiraReauthRequired,
    JiraTimeout,
    JiraUnavailable,
)
from jira.normalize import FieldMap
from tests.support.ids import ACME, ALICE, BRUNO, GLOBEX
from tests.support.jira import MakeClient, TokenSource, add_fault
from tests.support.sandbox import jira_requests, jira_routes, stats

SEARCH = "POST /ex/jira/{cloudId}/rest/api/3/search/jql"
COUNT = "POST /ex/jira/{cloudId}/rest/api/3/search/approximate-count"
ISSUE = "GET /ex/jira/{cloudId}/rest/api/3/issue/{issueIdOrKey}"
COMMENTS = "GET /ex/jira/{cloudId}/rest/api/3/issue/{issueIdOrKey}/comment"
MYSELF = "GET /ex/jira/{cloudId}/rest/api/3/myself"
FIELDS = FieldMap(story_points="customfield_10016", sprint="customfield_10020")


async def test_search_pages_over_1600_issues_each_exactly_once_and_total_matches(
    make_client: MakeClient, sandbox_url: str
) -> None:
    client = make_client()
    jql = "project in (PAY, MOB) ORDER BY key ASC"

    outcome = await client.search(jql, limit=5000, field_map=FIELDS)
    count = await client.count(jql)

    keys = [i.key for i in outcome.issues]
    assert len(keys) == 1600
    assert len(set(keys)) == 1600
    assert count == 1600
    assert outcome.truncated is False
    stats = jira_routes(sandbox_url)
    assert stats[SEARCH] == 16
    assert not any(route.endswith("/rest/api/3/search") for route in stats)


async def test_search_stops_at_the_limit_and_says_it_truncated(make_client: MakeClient) -> None:
    client = make_client()

    outcome = await client.search(
        "project = PAY ORDER BY created DESC", limit=150, field_map=FIELDS
    )

    assert len(outcome.issues) == 150
    assert outcome.truncated is True
    assert outcome.issues[0].created >= outcome.issues[-1].created


async def test_search_normalizes_issues_with_discovered_custom_fields(
    make_client: MakeClient,
) -> None:
    client = make_client()
    field_map = await client.field_map()

    outcome = await client.search("key = PAY-11", limit=1, field_map=field_map)

    assert field_map == FieldMap(
        story_points="customfield_10016", sprint="customfield_10020", flagged="customfield_10021"
    )
    issue = outcome.issues[0]
    assert issue.key == "PAY-11"
    assert issue.url == "https://acme.atlassian.net/browse/PAY-11"
    assert set(issue.model_dump()) == {
        "key", "url", "summary", "status", "status_category", "priority", "issue_type",
        "assignee", "reporter", "labels", "created", "updated", "due", "story_points",
        "sprint", "parent", "fix_versions", "description",
    }  # fmt: skip
    assert issue.description.startswith("## ")


async def test_comments_are_newest_first_and_the_2150_comment_issue_completes(
    make_client: MakeClient, sandbox_url: str
) -> None:
    client = make_client()

    page = await client.comments("PAY-7")

    assert page.total == 2150
    assert len(page.comments) == 2150
    assert len({c.id for c in page.comments}) == 2150
    created = [c.created for c in page.comments]
    assert created == sorted(created, reverse=True)
    assert jira_routes(sandbox_url)[COMMENTS] == 22


async def test_comments_limit_returns_the_newest_with_the_total(make_client: MakeClient) -> None:
    client = make_client()
    everything = await client.comments("PAY-7")

    page = await client.comments("PAY-7", limit=50)

    assert page.total == 2150
    assert [c.id for c in page.comments] == [c.id for c in everything.comments[:50]]


async def test_special_issues_convert(make_client: MakeClient) -> None:
    client = make_client()

    huge = await client.issue("PAY-2", field_map=FIELDS)
    deep = await client.issue("PAY-3", field_map=FIELDS)
    too_deep = await client.issue("PAY-4", field_map=FIELDS)
    unicode = await client.issue("PAY-5", field_map=FIELDS)

    assert len(huge.description) > 500_000
    assert deep.description.endswith("- Niveau le plus profond de la liste imbriquée.")
    assert too_deep.key == "PAY-4"
    assert too_deep.summary != ""
    assert (
        too_deep.description == "[content not shown: the document is nested too deeply to be read]"
    )
    assert "Caractères invisibles : abcde fin." in unicode.description
    assert "\u202e" not in unicode.description


async def test_account_b_never_sees_account_a_projects(make_client: MakeClient) -> None:
    bruno = make_client(BRUNO)

    projects = await bruno.projects()
    with pytest.raises(IssueNotFound):
        await bruno.issue("PAY-1", field_map=FIELDS)
    with pytest.raises(InvalidJql):
        await bruno.search("project = PAY", limit=10, field_map=FIELDS)

    assert [p.key for p in projects] == ["MOB"]


async def test_unknown_issue_is_not_found(make_client: MakeClient) -> None:
    with pytest.raises(IssueNotFound):
        await make_client().issue("PAY-99999", field_map=FIELDS)


async def test_bad_jql_carries_jiras_message(make_client: MakeClient) -> None:
    with pytest.raises(InvalidJql) as caught:
        await make_client().search("project = PAY AND (", limit=10, field_map=FIELDS)

    assert caught.value.status == 422
    assert caught.value.detail.startswith("Invalid JQL: ")
    assert len(caught.value.detail) > len("Invalid JQL: ")


async def test_429_waits_at_least_retry_after_then_succeeds(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=1, count=1)
    client = make_client()

    me = await client.myself()

    assert me.account_id == ALICE
    assert jira_requests(sandbox_url) == 2
    # As the sandbox saw it: the retry came at least Retry-After after the 429.
    assert stats(sandbox_url)["last_gap_ms"][MYSELF] >= 1000


async def test_429_three_times_gives_up_with_retry_after(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=1)
    client = make_client()

    with pytest.raises(JiraRateLimited) as caught:
        await client.myself()

    assert caught.value.status == 503
    assert caught.value.retry_after == 1
    assert jira_requests(sandbox_url) == 3


async def test_429_longer_than_the_bound_is_not_waited(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=120)
    client = make_client(max_retry_wait=3.0)

    with pytest.raises(JiraRateLimited) as caught:
        await client.myself()

    assert caught.value.retry_after == 120
    assert jira_requests(sandbox_url) == 1


async def test_500_once_is_retried(make_client: MakeClient, sandbox_url: str) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=500, count=1)

    me = await make_client().myself()

    assert me.account_id == ALICE
    assert jira_requests(sandbox_url) == 2


async def test_500_twice_is_502(make_client: MakeClient, sandbox_url: str) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=500)

    with pytest.raises(JiraUnavailable) as caught:
        await make_client().myself()

    assert caught.value.status == 502
    assert jira_requests(sandbox_url) == 2


async def test_connection_refused_is_502(make_client: MakeClient) -> None:
    client = make_client(api_url="http://127.0.0.1:9")

    with pytest.raises(JiraUnavailable):
        await client.myself()


async def test_hang_is_504_after_the_read_timeout(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="hang", count=1)
    client = make_client(read_timeout=0.5)

    with pytest.raises(JiraTimeout) as caught:
        await client.myself()

    # httpx's read timer fired: the client waited read_timeout for an answer, then gave up.
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert caught.value.status == 504


async def test_malformed_json_is_502(make_client: MakeClient, sandbox_url: str) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="malformed", count=1)

    with pytest.raises(JiraBadResponse) as caught:
        await make_client().myself()

    assert caught.value.status == 502


async def test_403_is_site_forbidden(make_client: MakeClient, sandbox_url: str) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=403, count=1)

    with pytest.raises(JiraForbidden) as caught:
        await make_client().myself()

    assert caught.value.code == "site_forbidden"


async def test_expired_token_is_refreshed_once(make_client: MakeClient, sandbox_url: str) -> None:
    tokens = TokenSource(sandbox_url, ALICE)
    client = make_client(tokens=tokens)
    await client.myself()
    httpx.post(sandbox_url + "/_sandbox/tokens/expire", json={"access_token": tokens.token})

    me = await client.myself()

    assert me.account_id == ALICE
    assert tokens.forced == 1


async def test_401_after_refresh_is_reauth_required(
    make_client: MakeClient, sandbox_url: str
) -> None:
    tokens = TokenSource(sandbox_url, ALICE)
    client = make_client(GLOBEX, tokens=tokens, cloud_id=ACME)
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=401)

    with pytest.raises(JiraReauthRequired) as caught:
        await client.myself()

    assert caught.value.code == "atlassian_reauth_required"
    assert tokens.forced == 1
    assert jira_requests(sandbox_url) == 2


async def test_breaker_opens_answers_at_once_then_half_opens_and_closes(
    make_client: MakeClient, sandbox_url: str
) -> None:
    now = [1_000_000.0]
    client = make_client(breaker_threshold=3, breaker_reset_seconds=30.0, clock=lambda: now[0])
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=503)
    for _ in range(3):
        with pytest.raises(JiraUnavailable):
            await client.myself()
    assert jira_requests(sandbox_url) == 6

    with pytest.raises(JiraCircuitOpen) as caught:
        await client.myself()
    assert caught.value.status == 503
    assert caught.value.retry_after == 30
    assert jira_requests(sandbox_url) == 6

    now[0] += 31  # the probe fails: open again
    with pytest.raises(JiraUnavailable):
        await client.myself()
    with pytest.raises(JiraCircuitOpen):
        await client.myself()
    assert jira_requests(sandbox_url) == 8

    httpx.delete(sandbox_url + "/_sandbox/faults")
    now[0] += 31  # the probe succeeds: closed
    assert (await client.myself()).account_id == ALICE
    assert (await client.myself()).account_id == ALICE
    assert jira_requests(sandbox_url) == 10


async def test_bulk_comments_respect_the_concurrency_bound(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/comment", mode="delay", delay_ms=50)
    client = make_client(max_concurrency=4)
    keys = [f"MOB-{n}" for n in range(1, 17)]

    pages = await client.comments_many(keys)

    requests = sum(max(1, math.ceil(p.total / 100)) for p in pages.values())
    assert list(pages) == keys
    assert jira_routes(sandbox_url)[COMMENTS] == requests
    # Each held 50 ms: the sandbox had 4 of them at a time, never more.
    assert stats(sandbox_url)["max_in_flight"][COMMENTS] == 4


@pytest.mark.parametrize("absurd", ["1e999", "-5", "nan", "86401"])
async def test_an_absurd_retry_after_reads_as_none(
    make_client: MakeClient, sandbox_url: str, absurd: str
) -> None:
    # As for a 429 without Retry-After: our own backoff (0.02 s, then 0.04 s), three attempts,
    # and the wait we would have made next (0.08 s) rounded up to whole seconds.
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=absurd)
    client = make_client(retry_backoff_seconds=0.01)

    with pytest.raises(JiraRateLimited) as caught:
        await client.myself()

    assert caught.value.retry_after == 1
    assert jira_requests(sandbox_url) == 3


async def test_a_retry_after_of_a_day_is_passed_on_as_received(
    make_client: MakeClient, sandbox_url: str
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=86400)
    client = make_client(max_retry_wait=3.0)

    with pytest.raises(JiraRateLimited) as caught:
        await client.myself()

    assert caught.value.retry_after == 86400  # max_retry_wait bounds our wait, not this value
    assert jira_requests(sandbox_url) == 1
