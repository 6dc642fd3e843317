"""The services the endpoints and the AI app call: caching per account and site, refresh,
revalidation by `updated`, the bulk search with comments."""

from __future__ import annotations

from typing import Any

import pytest

from jira import services
from jira.errors import InvalidIssueKey, IssueNotFound, ProjectNotFound
from tests.support.ids import ACME, ALICE, BRUNO
from tests.support.jira import MakeClient, user_context
from tests.support.sandbox import jira_requests, jira_routes

pytestmark = pytest.mark.usefixtures("clean_jira_cache")
ISSUE = "GET /ex/jira/{cloudId}/rest/api/3/issue/{issueIdOrKey}"


async def test_search_is_cached_and_refresh_bypasses(
    make_client: MakeClient, sandbox_url: str
) -> None:
    ctx = user_context(ALICE)
    client = make_client(ALICE)

    first = await services.issues_search(ctx=ctx, jql="project = MOB", limit=120, client=client)
    after_first = jira_requests(sandbox_url)
    again = await services.issues_search(ctx=ctx, jql="project = MOB", limit=120, client=client)
    after_again = jira_requests(sandbox_url)
    await services.issues_search(
        ctx=ctx, jql="project = MOB", limit=120, refresh=True, client=client
    )

    assert (len(first.issues), first.total, first.truncated) == (120, 500, True)
    assert again == first
    assert after_again == after_first
    assert jira_requests(sandbox_url) > after_again


async def test_all_issues_read_gives_the_exact_total(make_client: MakeClient) -> None:
    result = await services.issues_search(
        ctx=user_context(), jql="project = MOB", limit=1000, client=make_client()
    )

    assert (len(result.issues), result.total, result.truncated) == (500, 500, False)


async def test_one_accounts_cache_is_never_served_to_another(make_client: MakeClient) -> None:
    alice, bruno = user_context(ALICE), user_context(BRUNO)
    await services.projects_list(ctx=alice, client=make_client(ALICE))
    await services.issue_with_comments(ctx=alice, key="PAY-1", client=make_client(ALICE))

    projects = await services.projects_list(ctx=bruno, client=make_client(BRUNO))
    with pytest.raises(IssueNotFound):
        await services.issue_with_comments(ctx=bruno, key="PAY-1", client=make_client(BRUNO))

    assert [p.key for p in projects.projects] == ["MOB"]


async def test_issue_is_served_from_cache_then_revalidated_by_updated(
    make_client: MakeClient, sandbox_url: str, settings: Any
) -> None:
    ctx = user_context()
    client = make_client()
    first = await services.issue_with_comments(
        ctx=ctx, key="PAY-7", comments_limit=10, client=client
    )
    fetched = jira_requests(sandbox_url)

    cached = await services.issue_with_comments(
        ctx=ctx, key="PAY-7", comments_limit=10, client=client
    )
    assert jira_requests(sandbox_url) == fetched
    settings.JIRA_CACHE_TTL_SECONDS = 0
    revalidated = await services.issue_with_comments(
        ctx=ctx, key="PAY-7", comments_limit=10, client=client
    )

    assert first == cached == revalidated
    assert (first.comments_total, len(first.comments)) == (2150, 10)
    assert jira_requests(sandbox_url) == fetched + 1
    assert jira_routes(sandbox_url)[ISSUE] == 2


@pytest.mark.parametrize("key", ["ABC-0", "AB_C-01", "_AB-1", "../x", "PAY", "PAY-1 OR 1=1", "A-1"])
async def test_malformed_keys_are_invalid_input(key: str) -> None:
    with pytest.raises(InvalidIssueKey) as caught:
        await services.issue_with_comments(ctx=user_context(), key=key)

    assert (caught.value.status, caught.value.code) == (422, "invalid_input")


async def test_a_project_key_with_an_underscore_typed_in_lower_case(
    make_client: MakeClient,
) -> None:
    ctx = user_context()
    client = make_client()

    issue = await services.issue_with_comments(
        ctx=ctx, key="ab_c-9", comments_limit=3, client=client
    )
    found = await services.issues_search(ctx=ctx, jql="project = AB_C ORDER BY key", client=client)
    overview = await services.project_overview(ctx=ctx, key="ab_c", client=client)

    assert issue.issue.parent is not None
    assert (issue.issue.key, issue.issue.parent.key, issue.comments_total) == (
        "AB_C-9",
        "AB_C-10",
        32,
    )
    assert issue.issue.url == "https://acme.atlassian.net/browse/AB_C-9"
    created = [c.created for c in issue.comments]
    assert len(created) == 3
    assert created == sorted(created, reverse=True)
    assert [i.key for i in found.issues] == [f"AB_C-{n}" for n in range(1, 13)]
    assert (found.total, found.truncated) == (12, False)
    assert (overview.key, overview.name, overview.open_total) == ("AB_C", "Analytics Core", 3)
    assert overview.by_status == {"In Progress": 2, "To Do": 1}


async def test_search_with_comments_then_repeat_makes_no_request(
    make_client: MakeClient, sandbox_url: str
) -> None:
    ctx = user_context()
    client = make_client()
    jql = "project = PAY ORDER BY created DESC"

    first = await services.issues_search_with_comments(ctx=ctx, jql=jql, limit=200, client=client)
    fetched = jira_requests(sandbox_url)
    again = await services.issues_search_with_comments(ctx=ctx, jql=jql, limit=200, client=client)

    assert jira_requests(sandbox_url) == fetched
    assert again == first
    assert list(first.comments) == [i.key for i in first.issues]
    for page in first.comments.values():
        assert len(page.comments) == page.total
        assert [c.created for c in page.comments] == sorted(
            (c.created for c in page.comments), reverse=True
        )


async def test_project_overview(make_client: MakeClient) -> None:
    overview = await services.project_overview(ctx=user_context(), key="MOB", client=make_client())

    assert (overview.key, overview.name) == ("MOB", "Mobile App")
    assert sum(overview.by_status.values()) == overview.open_total
    assert len(overview.recent) == 10
    assert overview.recent[0].updated >= overview.recent[-1].updated


async def test_project_overview_of_a_hidden_project_is_not_found(make_client: MakeClient) -> None:
    with pytest.raises(ProjectNotFound):
        await services.project_overview(
            ctx=user_context(BRUNO, ACME), key="PAY", client=make_client(BRUNO)
        )
