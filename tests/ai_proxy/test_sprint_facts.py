"""The facts of a sprint report, computed through the real sandbox (its Agile API, search and
bulk changelogs) and compared with what the sandbox's own data implies (``tests.support.agile``
recomputes them from its ``Dataset``, current values and changelog)."""

from __future__ import annotations

from typing import Any

import pytest

from ai_proxy.sprint_facts import sprint_facts_of, sprint_report_request
from ai_service.contract.reports import IssueSet, SprintFacts
from core.errors import ApiError
from jira.agile import sprint_history_get
from jira.errors import BoardNotFound, SprintNotFound
from sandbox.atlassian.data import CHLOE
from tests.support.agile import DATA, Expected, agile_context, expected_facts, order
from tests.support.ids import ALICE, GLOBEX
from tests.support.keys import forget_keys
from tests.support.sandbox import jira_routes


@pytest.fixture(autouse=True)
def jira_on_sandbox(settings: Any, sandbox_url: str) -> None:
    """The services build their client from settings: the sandbox is this process's Jira."""
    settings.ATLASSIAN_API_URL = sandbox_url
    settings.ATLASSIAN_AUTH_URL = sandbox_url


@pytest.fixture(autouse=True)
async def clean_jira_cache() -> None:
    """No Jira cache entry of an earlier test or run (real Redis, the tests' own db)."""
    await forget_keys("jira:v1:*")


SCENARIO = DATA.scenario
PAY_BOARD, MOB_BOARD = 10, 11


def _points(expected: Expected, keys: list[str]) -> float:
    return sum(expected.points[k] for k in keys)


def _assert_matches(facts: SprintFacts, expected: Expected) -> None:
    for name in ("committed", "added", "removed", "completed", "not_completed", "carried_over"):
        keys = getattr(expected, name)
        assert getattr(facts, name) == IssueSet(
            issues=len(keys), points=_points(expected, keys), keys=keys
        ), name
    assert {c.key: (c.before, c.after) for c in facts.estimate_changes} == (
        expected.estimate_changes
    )
    committed = _points(expected, expected.committed)
    moved = _points(expected, expected.added) + _points(expected, expected.removed)
    assert facts.scope_change_percent == (round(100 * moved / committed, 1) if committed else 0)


def _identity(facts: SprintFacts) -> None:
    for attr in ("issues", "points"):
        left = getattr(facts.committed, attr) + getattr(facts.added, attr)
        left -= getattr(facts.removed, attr)
        right = getattr(facts.completed, attr) + getattr(facts.not_completed, attr)
        assert left == pytest.approx(right), attr


async def test_pay_sprint_20_is_what_its_changelog_implies(sandbox_url: str) -> None:
    ctx = agile_context(sandbox_url, ALICE)

    request = await sprint_report_request(
        ctx=ctx, board_id=PAY_BOARD, sprint_id=SCENARIO.sprint.id, language="fr"
    )

    expected = expected_facts("PAY", SCENARIO.sprint)
    facts = request.facts
    _assert_matches(facts, expected)
    # ...and what the scenario says it scripted
    assert facts.committed.keys == order(SCENARIO.committed)
    assert facts.added.keys == order(SCENARIO.added)
    assert facts.removed.keys == order(SCENARIO.removed)
    assert facts.completed.keys == order(SCENARIO.completed)
    assert facts.carried_over.keys == order(SCENARIO.carried_over)
    assert facts.committed.points == sum(SCENARIO.points[k] for k in SCENARIO.committed)
    assert {c.key: (c.before, c.after) for c in facts.estimate_changes} == (
        SCENARIO.estimate_changes
    )
    _identity(facts)
    assert [i.key for i in request.issues] == order(set(SCENARIO.committed + SCENARIO.added))
    assert (request.board.id, request.board.type, request.board.project_key) == (
        PAY_BOARD,
        "scrum",
        "PAY",
    )
    assert (request.sprint.id, request.sprint.state) == (SCENARIO.sprint.id, "closed")
    assert (request.language, request.audience) == ("fr", "team")


async def test_by_assignee_and_type_cover_the_issues_at_completion(sandbox_url: str) -> None:
    request = await sprint_report_request(
        ctx=agile_context(sandbox_url, ALICE),
        board_id=PAY_BOARD,
        sprint_id=SCENARIO.sprint.id,
        language=None,
    )

    expected = expected_facts("PAY", SCENARIO.sprint)
    at_end = expected.completed + expected.not_completed
    for groups, attr in ((request.facts.by_assignee, "assignee"), (request.facts.by_type, "")):
        want: dict[str, list[str]] = {}
        for key in at_end:
            issue = DATA.issues[key]
            if attr:
                name = issue.assignee.display_name if issue.assignee else "(none)"
            else:
                name = issue.issuetype
            want.setdefault(name, []).append(key)
        assert [(g.name, g.issues, g.points) for g in groups] == [
            (name, len(keys), _points(expected, keys)) for name, keys in sorted(want.items())
        ]
        assert [g.completed_points for g in groups] == [
            _points(expected, [k for k in keys if k in expected.completed])
            for _, keys in sorted(want.items())
        ]


async def test_blockers_are_flagged_and_open_blocking_links(sandbox_url: str) -> None:
    request = await sprint_report_request(
        ctx=agile_context(sandbox_url, ALICE),
        board_id=PAY_BOARD,
        sprint_id=SCENARIO.sprint.id,
        language="en",
    )

    seeds = DATA.blockers
    open_blocker = DATA.issues[seeds.open_blocker]
    done_blocker = DATA.issues[seeds.done_blocker]
    assert open_blocker.status.category != "done"
    assert done_blocker.status.category == "done"
    by_key = {b.key: b for b in request.facts.blockers}
    assert by_key[seeds.blocked_open].reasons == ["blocked_by"]
    assert by_key[seeds.blocked_open].blocked_by == [seeds.open_blocker]
    assert by_key[seeds.flagged].reasons == ["flagged"]
    assert seeds.blocked_done not in by_key
    assert set(by_key) == {seeds.blocked_open, *expected_facts("PAY", SCENARIO.sprint).flagged}


async def test_the_mob_boards_last_closed_sprint_matches_its_data(sandbox_url: str) -> None:
    """A sprint with no scripted changelog: membership from the Sprint field and creation, Done
    at completion from the status changelog."""
    sprint = [s for s in DATA.sprints["MOB"] if s.state == "closed"][-1]

    request = await sprint_report_request(
        ctx=agile_context(sandbox_url, ALICE),
        board_id=MOB_BOARD,
        sprint_id=sprint.id,
        language="en",
    )

    expected = expected_facts("MOB", sprint)
    assert expected.committed or expected.added
    _assert_matches(request.facts, expected)
    _identity(request.facts)


async def test_velocity_is_the_last_five_closed_sprints_oldest_first(sandbox_url: str) -> None:
    request = await sprint_report_request(
        ctx=agile_context(sandbox_url, ALICE),
        board_id=PAY_BOARD,
        sprint_id=SCENARIO.sprint.id,
        language="en",
    )

    closed = [s for s in DATA.sprints["PAY"] if s.state == "closed"]
    assert closed[-1] == SCENARIO.sprint
    want = []
    for sprint in closed[-5:]:
        expected = expected_facts("PAY", sprint)
        want.append(
            (
                sprint.id,
                sprint.name,
                _points(expected, expected.committed),
                _points(expected, expected.completed),
            )
        )
    assert [
        (v.sprint_id, v.name, v.committed_points, v.completed_points)
        for v in request.facts.velocity
    ] == want


async def test_every_closed_pay_sprint_balances(sandbox_url: str) -> None:
    """One read covering the board's first sprints (its window reaches back to sprint 1, so its
    candidates are every issue any later sprint could hold), then each closed sprint's facts
    from the same data, as the velocity computes them."""
    closed = [s for s in DATA.sprints["PAY"] if s.state == "closed"]
    history = await sprint_history_get(
        ctx=agile_context(sandbox_url, ALICE), board_id=PAY_BOARD, sprint_id=closed[4].id
    )
    assert not history.truncated

    for sprint in closed:
        facts, _ = sprint_facts_of(
            history.model_copy(
                update={
                    "sprint": next(s for s in history.board_sprints if s.id == sprint.id),
                    "velocity_sprints": [],
                }
            )
        )
        _identity(facts)
        _assert_matches(facts, expected_facts("PAY", sprint))


async def test_an_active_sprint_is_read_as_if_completed_now(sandbox_url: str) -> None:
    active = next(s for s in DATA.sprints["PAY"] if s.state == "active")

    request = await sprint_report_request(
        ctx=agile_context(sandbox_url, ALICE),
        board_id=PAY_BOARD,
        sprint_id=active.id,
        language="en",
    )

    facts = request.facts
    _identity(facts)
    current = order(i.key for i in DATA.by_project["PAY"] if i.sprint is active)
    assert order(facts.completed.keys + facts.not_completed.keys) == current
    assert facts.carried_over == IssueSet()
    assert [v.sprint_id for v in facts.velocity] == [
        s.id for s in DATA.sprints["PAY"] if s.state == "closed"
    ][-5:]


async def test_a_future_sprint_and_a_kanban_board_are_invalid_input(sandbox_url: str) -> None:
    future = next(s for s in DATA.sprints["PAY"] if s.state == "future")
    with pytest.raises(ApiError) as not_started:
        await sprint_report_request(
            ctx=agile_context(sandbox_url, ALICE),
            board_id=PAY_BOARD,
            sprint_id=future.id,
            language="en",
        )
    with pytest.raises(ApiError) as kanban:
        await sprint_report_request(
            ctx=agile_context(sandbox_url, CHLOE.account_id, GLOBEX),
            board_id=12,
            sprint_id=1,
            language="en",
        )

    assert (not_started.value.status, not_started.value.code) == (422, "invalid_input")
    assert not_started.value.detail == "The sprint has not started."
    assert (kanban.value.status, kanban.value.code) == (422, "invalid_input")


async def test_unknown_board_and_sprint_are_404(sandbox_url: str) -> None:
    ctx = agile_context(sandbox_url, ALICE)
    with pytest.raises(BoardNotFound) as board:
        await sprint_report_request(ctx=ctx, board_id=999, sprint_id=1020, language="en")
    with pytest.raises(SprintNotFound) as sprint:
        await sprint_report_request(ctx=ctx, board_id=PAY_BOARD, sprint_id=1120, language="en")

    assert (board.value.status, board.value.code) == (404, "board_not_found")
    assert (sprint.value.status, sprint.value.code) == (404, "sprint_not_found")


async def test_progress_is_told_after_each_read_and_the_cache_answers_again(
    sandbox_url: str,
) -> None:
    ctx = agile_context(sandbox_url, ALICE)
    seen: list[tuple[int, int]] = []
    members = "GET /ex/jira/{cloudId}/rest/agile/1.0/sprint/{sprintId}/issue"

    first = await sprint_report_request(
        ctx=ctx,
        board_id=PAY_BOARD,
        sprint_id=SCENARIO.sprint.id,
        language="en",
        on_fetch=lambda done, total: seen.append((done, total)),
    )
    reads = jira_routes(sandbox_url)[members]
    told = len(seen)
    again = await sprint_report_request(
        ctx=ctx,
        board_id=PAY_BOARD,
        sprint_id=SCENARIO.sprint.id,
        language="en",
        on_fetch=lambda done, total: seen.append((done, total)),
    )
    cached_reads = jira_routes(sandbox_url)[members]
    await sprint_report_request(
        ctx=ctx, board_id=PAY_BOARD, sprint_id=SCENARIO.sprint.id, language="en", refresh=True
    )

    # one read of members per sprint (this one and the 4 closed before it), the search, the
    # changelogs
    assert seen == [(n, 7) for n in range(1, 8)]
    assert again.facts == first.facts
    assert (cached_reads, len(seen)) == (reads, told)
    assert jira_routes(sandbox_url)[members] == reads + 5
