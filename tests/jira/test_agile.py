"""The Jira Software client and services on the sandbox: boards, a board's sprints, a sprint's
members, bulk changelogs, each across pages, and the services' order and cache."""

from __future__ import annotations

import pytest

from jira import agile
from jira.errors import BoardNotFound, SprintNotFound
from jira.normalize import FieldMap
from sandbox.atlassian.data import CHLOE, SPRINT_FIELD, STORY_POINTS_FIELD
from tests.support.agile import AGILE_SCOPES, DATA, order
from tests.support.ids import ALICE, GLOBEX
from tests.support.jira import MakeClient, TokenSource, user_context
from tests.support.sandbox import jira_routes

pytestmark = pytest.mark.usefixtures("clean_jira_cache")
SCENARIO = DATA.scenario
AGILE = "/ex/jira/{cloudId}/rest/agile/1.0"
BOARDS = f"GET {AGILE}/board"
SPRINTS = f"GET {AGILE}/board/{{boardId}}/sprint"
MEMBERS = f"GET {AGILE}/sprint/{{sprintId}}/issue"
BULK = "POST /ex/jira/{cloudId}/rest/api/3/changelog/bulkfetch"


@pytest.fixture
async def alice(make_client: MakeClient, sandbox_url: str) -> agile.JiraClient:
    return make_client(ALICE, tokens=TokenSource(sandbox_url, ALICE, scope=AGILE_SCOPES))


@pytest.fixture
async def chloe(make_client: MakeClient, sandbox_url: str) -> agile.JiraClient:
    tokens = TokenSource(sandbox_url, CHLOE.account_id, scope=AGILE_SCOPES)
    return make_client(CHLOE.account_id, GLOBEX, tokens=tokens)


def _calls(sandbox_url: str, route: str) -> int:
    return int(jira_routes(sandbox_url).get(route, 0))


async def test_boards_follow_is_last_across_pages(
    alice: agile.JiraClient, sandbox_url: str
) -> None:
    before = _calls(sandbox_url, BOARDS)

    boards = await alice.boards(page_size=1)

    visible = [b for b in DATA.boards.values() if b.project.key in ("PAY", "MOB")]
    assert [(b.id, b.name, b.type, b.project_key) for b in boards] == [
        (b.id, b.name, b.type, b.project.key) for b in visible
    ]
    assert _calls(sandbox_url, BOARDS) - before == len(visible)


async def test_board_sprints_follow_is_last_without_a_total(
    alice: agile.JiraClient, sandbox_url: str
) -> None:
    before = _calls(sandbox_url, SPRINTS)

    sprints = await alice.board_sprints(10, page_size=5)
    closed = await alice.board_sprints(10, states=["closed"])

    want = DATA.sprints["PAY"]
    assert [(s.id, s.name, s.state, s.goal) for s in sprints] == [
        (s.id, s.name, s.state, s.goal) for s in want
    ]
    assert _calls(sandbox_url, SPRINTS) - before == -(-len(want) // 5) + 1
    assert [s.id for s in closed] == [s.id for s in want if s.state == "closed"]
    last = sprints[19]
    assert (last.start_date, last.complete_date) == (want[19].start, want[19].end)
    assert sprints[21].start_date is None


async def test_a_kanban_board_has_no_sprints(chloe: agile.JiraClient) -> None:
    assert (await chloe.board(12)).type == "kanban"
    assert await chloe.board_sprints(12) == []


async def test_unknown_board_and_sprint(alice: agile.JiraClient) -> None:
    with pytest.raises(BoardNotFound):
        await alice.board(999)
    with pytest.raises(BoardNotFound):
        await alice.board_sprints(999)
    with pytest.raises(SprintNotFound):
        await alice.sprint(9)
    assert (await alice.sprint(SCENARIO.sprint.id)).name == SCENARIO.sprint.name


async def test_sprint_members_page_with_the_total(
    alice: agile.JiraClient, sandbox_url: str
) -> None:
    active = SCENARIO.next_sprint
    field_map = await alice.field_map()
    before = _calls(sandbox_url, MEMBERS)

    members, more = await alice.sprint_issues(
        active.id, field_map=field_map, limit=1000, page_size=20
    )
    capped, capped_more = await alice.sprint_issues(active.id, field_map=field_map, limit=30)

    want = [i for i in DATA.by_project["PAY"] if i.sprint is active]
    assert len(want) > 40
    assert order(m.issue.key for m in members) == order(i.key for i in want)
    assert not more
    assert _calls(sandbox_url, MEMBERS) - before == -(-len(want) // 20) + 1
    assert (len(capped), capped_more) == (30, True)
    carried = next(m for m in members if m.issue.key == SCENARIO.carried_over[0])
    assert carried.sprint_ids == [SCENARIO.sprint.id, active.id]
    assert carried.id == str(DATA.issues[carried.issue.key].id)


async def test_changelogs_follow_next_page_token(alice: agile.JiraClient, sandbox_url: str) -> None:
    keys = list(SCENARIO.committed + SCENARIO.added)
    ids = [str(DATA.issues[k].id) for k in keys]
    fields = [SPRINT_FIELD, STORY_POINTS_FIELD, "status"]
    before = _calls(sandbox_url, BULK)

    paged = await alice.changelogs(ids, field_ids=fields, page_size=3)
    calls = _calls(sandbox_url, BULK) - before
    whole = await alice.changelogs(ids, field_ids=fields)

    assert paged == whole
    total = sum(len(h) for h in whole.values())
    assert calls == -(-total // 3)
    for key, issue_id in zip(keys, ids, strict=True):
        want = [
            h["id"]
            for h in sorted(DATA.changelog(DATA.issues[key]), key=lambda h: h["created"])
            if any(i["fieldId"] in fields for i in h["items"])
        ]
        assert [h.id for h in whole[issue_id]] == want
    with pytest.raises(ValueError, match="10 fields"):
        await alice.changelogs(ids, field_ids=[f"f{n}" for n in range(11)])


async def test_status_categories_cover_the_workflows(alice: agile.JiraClient) -> None:
    categories = await alice.status_categories()

    for status in DATA.issues["PAY-1"].project.statuses + DATA.issues["MOB-1"].project.statuses:
        assert categories[status.id] == status.category


async def test_field_map_finds_the_flagged_field(alice: agile.JiraClient) -> None:
    field_map = await alice.field_map()

    assert field_map == FieldMap(
        story_points=STORY_POINTS_FIELD,
        sprint=SPRINT_FIELD,
        epic_link=None,
        flagged="customfield_10021",
    )


async def test_board_sprints_service_orders_and_caches(
    alice: agile.JiraClient, sandbox_url: str
) -> None:
    ctx = user_context(ALICE)

    first = await agile.board_sprints_list(ctx=ctx, board_id=10, client=alice)
    calls = _calls(sandbox_url, SPRINTS)
    again = await agile.board_sprints_list(ctx=ctx, board_id=10, client=alice)
    cached_calls = _calls(sandbox_url, SPRINTS)
    await agile.board_sprints_list(ctx=ctx, board_id=10, refresh=True, client=alice)

    raw = DATA.sprints["PAY"]
    active = [s.id for s in raw if s.state == "active"]
    closed = sorted((s for s in raw if s.state == "closed"), key=lambda s: s.end, reverse=True)
    future = [s.id for s in raw if s.state == "future"]
    assert [s.id for s in first.sprints] == active + [s.id for s in closed] + future
    assert again == first
    assert cached_calls == calls
    assert _calls(sandbox_url, SPRINTS) == calls + 1


async def test_boards_service_caches(alice: agile.JiraClient, sandbox_url: str) -> None:
    ctx = user_context(ALICE)

    first = await agile.boards_list(ctx=ctx, client=alice)
    calls = _calls(sandbox_url, BOARDS)
    again = await agile.boards_list(ctx=ctx, client=alice)

    assert [b.id for b in first.boards] == [10, 11]
    assert again == first
    assert _calls(sandbox_url, BOARDS) == calls
