"""The epic facts (``ai_proxy.epic_facts``) on the sandbox's seeded epics, each figure recomputed
here from the raw Jira JSON the sandbox serves (``parent = KEY`` through its HTTP API, read with a
token of Alice's), never from the code under test; and the rules of the due status on hand-made
epics (the pure function).

Seeds (``sandbox.atlassian.data.EpicSeeds``): PAY-60 has PAY and MOB children and is due ahead;
PAY-310 is overdue with stale children; AB_C-10's children have no estimate.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from ai_proxy import epic_facts
from ai_proxy.epic_facts import epic_facts_compute, epic_report_request
from ai_service.contract.reports import EpicFacts, EpicReportRequest
from ai_service.contract.schemas import NormalizedIssue
from core.errors import ApiError
from core.redis import get_async_redis
from jira.breaker import Breaker
from jira.client import JiraClient
from sandbox.atlassian.data import (
    EPIC_CROSS_PROJECT,
    EPIC_OVERDUE,
    EPIC_UNESTIMATED,
    STORY_POINTS_FIELD,
    Dataset,
)
from tests.sandbox.atlassian_helpers import jira_for
from tests.support.ids import ACME, ALICE
from tests.support.jira import TokenSource, jira_config, site_url, user_context

SEEDS = Dataset(42).epic_seeds
RAW_FIELDS = ["status", "created", "updated", "duedate", "issuetype", STORY_POINTS_FIELD]


def _client(sandbox_url: str, **overrides: Any) -> JiraClient:
    config = jira_config(sandbox_url, **overrides)
    return JiraClient(
        cloud_id=ACME,
        site_url=site_url(ACME),
        token_provider=TokenSource(sandbox_url, ALICE),
        config=config,
        breaker=Breaker(
            get_async_redis(),
            threshold=config.breaker_threshold,
            reset_seconds=config.breaker_reset_seconds,
            prefix=f"test:breaker:{uuid.uuid4().hex}",
        ),
    )


async def _request(sandbox_url: str, key: str, **kwargs: Any) -> EpicReportRequest:
    kwargs.setdefault("refresh", True)
    return await epic_report_request(
        ctx=user_context(),
        epic_key=key,
        language="en",
        client=kwargs.pop("client", None) or _client(sandbox_url),
        **kwargs,
    )


# --- the raw data, as Jira serves it ---------------------------------------------------------


def _raw_children(sandbox_url: str, key: str) -> list[dict[str, Any]]:
    jira = jira_for(sandbox_url, ALICE)
    return jira.search_all(f"parent = {key}", fields=RAW_FIELDS)


def _raw_issue(sandbox_url: str, key: str) -> dict[str, Any]:
    response = jira_for(sandbox_url, ALICE).get(f"issue/{key}", fields=",".join(RAW_FIELDS))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _done(raw: dict[str, Any]) -> bool:
    return bool(raw["fields"]["status"]["statusCategory"]["key"] == "done")


def _points(raw: dict[str, Any]) -> float | None:
    value = raw["fields"][STORY_POINTS_FIELD]
    return None if value is None else float(value)


def _one_decimal(part: float, whole: float) -> float:
    exact = Decimal(str(part)) * 100 / Decimal(str(whole))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _order(key: str) -> tuple[str, int]:
    project, number = key.rsplit("-", 1)
    return project, int(number)


def _keys(raws: list[dict[str, Any]]) -> list[str]:
    return sorted((r["key"] for r in raws), key=_order)


def _stale(raws: list[dict[str, Any]], today: dt.date, days: int) -> list[str]:
    return _keys(
        [
            r
            for r in raws
            if not _done(r)
            and (today - dt.datetime.fromisoformat(r["fields"]["updated"]).date()).days >= days
        ]
    )


def _unaccented(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- the seeded epics --------------------------------------------------------------------------


async def test_done_percent_by_points_of_a_pay_epic_is_what_its_children_imply(
    sandbox_url: str,
) -> None:
    raws = _raw_children(sandbox_url, "PAY-10")
    estimated = [r for r in raws if _points(r) is not None]
    estimated_points = sum(_points(r) or 0.0 for r in estimated)
    done_points = sum(_points(r) or 0.0 for r in estimated if _done(r))

    request = await _request(sandbox_url, "pay-10")

    facts = request.facts
    assert facts.epic_key == request.epic.key == "PAY-10"
    assert 0 < done_points < estimated_points  # the seed makes the figure non-trivial
    assert facts.estimated_points == estimated_points
    assert facts.done_percent_points == _one_decimal(done_points, estimated_points)
    assert facts.done.issues == sum(1 for r in raws if _done(r))
    assert facts.done.points == done_points
    assert facts.done.keys == _keys([r for r in raws if _done(r)])
    assert facts.done_percent_issues == _one_decimal(facts.done.issues, len(raws))
    assert facts.unestimated == _keys([r for r in raws if _points(r) is None])
    assert facts.children_total == len(raws) == len(request.children)
    assert [c.key for c in request.children] == _keys(raws)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for raw in raws:
        by_status.setdefault(raw["fields"]["status"]["name"], []).append(raw)
    assert [(g.status, g.issues, g.points, g.keys) for g in facts.children] == [
        (name, len(group), sum(_points(r) or 0.0 for r in group), _keys(group))
        for name, group in sorted(by_status.items(), key=lambda item: _unaccented(item[0]))
    ]
    assert {g.status: g.status_category for g in facts.children} == {
        r["fields"]["status"]["name"]: r["fields"]["status"]["statusCategory"]["key"] for r in raws
    }


async def test_the_cross_project_epic_counts_its_mob_children(sandbox_url: str) -> None:
    raws = _raw_children(sandbox_url, EPIC_CROSS_PROJECT)
    mob = [r for r in raws if r["key"].startswith("MOB-")]
    estimated = [r for r in raws if _points(r) is not None]

    facts = (await _request(sandbox_url, EPIC_CROSS_PROJECT)).facts

    assert _keys(mob) == sorted(SEEDS.foreign, key=_order)
    assert facts.projects == ["MOB", "PAY"]
    assert facts.children_total == len(raws)
    assert set(SEEDS.foreign) <= {k for g in facts.children for k in g.keys}
    assert facts.estimated_points == sum(_points(r) or 0.0 for r in estimated)
    assert facts.done_percent_points == _one_decimal(
        sum(_points(r) or 0.0 for r in estimated if _done(r)), facts.estimated_points
    )
    assert [k for k in facts.done.keys if k.startswith("MOB-")] == _keys(
        [r for r in mob if _done(r)]
    )


async def test_an_epic_without_estimate_has_no_done_percent_by_points(sandbox_url: str) -> None:
    raws = _raw_children(sandbox_url, EPIC_UNESTIMATED)

    facts = (await _request(sandbox_url, EPIC_UNESTIMATED)).facts

    assert raws
    assert all(_points(r) is None for r in raws)
    assert facts.done_percent_points is None
    assert facts.estimated_points == 0
    assert facts.unestimated == _keys(raws) == sorted(SEEDS.unestimated_children, key=_order)
    assert facts.done.points == 0
    assert facts.done_percent_issues == _one_decimal(sum(1 for r in raws if _done(r)), len(raws))
    assert facts.projects == ["AB_C"]


async def test_the_overdue_epic_and_its_stale_children(sandbox_url: str) -> None:
    raws = _raw_children(sandbox_url, EPIC_OVERDUE)
    epic = _raw_issue(sandbox_url, EPIC_OVERDUE)
    today = _today()
    due = dt.date.fromisoformat(epic["fields"]["duedate"])

    facts = (await _request(sandbox_url, EPIC_OVERDUE)).facts

    assert not _done(epic)
    assert due < today
    assert facts.due == due
    assert facts.due_status == "overdue"
    assert facts.stale_days == 14  # AI_EPIC_STALE_DAYS's default
    assert facts.stale == _stale(raws, today, 14)
    assert set(SEEDS.stale) <= set(facts.stale)
    assert SEEDS.fresh not in facts.stale
    assert not set(facts.stale) & set(facts.done.keys)


async def test_stale_follows_the_setting(sandbox_url: str, settings: Any) -> None:
    settings.AI_EPIC_STALE_DAYS = 30
    raws = _raw_children(sandbox_url, EPIC_OVERDUE)

    facts = (await _request(sandbox_url, EPIC_OVERDUE)).facts

    assert facts.stale_days == 30
    assert facts.stale == _stale(raws, _today(), 30)
    assert facts.stale != _stale(raws, _today(), 14)


async def test_the_epic_due_ahead_is_at_risk_against_the_elapsed_time(sandbox_url: str) -> None:
    epic = _raw_issue(sandbox_url, EPIC_CROSS_PROJECT)
    today = _today()
    created = dt.datetime.fromisoformat(epic["fields"]["created"]).date()
    due = dt.date.fromisoformat(epic["fields"]["duedate"])
    expected = _one_decimal((today - created).days, (due - created).days)

    facts = (await _request(sandbox_url, EPIC_CROSS_PROJECT)).facts

    assert due > today
    assert facts.due == due
    assert facts.expected_percent == expected
    assert facts.done_percent_points is not None
    assert facts.done_percent_points < expected
    assert facts.due_status == "at_risk"


async def test_children_pages_are_reported_and_the_cache_serves_the_same_facts(
    sandbox_url: str,
) -> None:
    total = len(_raw_children(sandbox_url, EPIC_CROSS_PROJECT))
    client = _client(sandbox_url, page_size=10)
    live: list[tuple[int, int]] = []
    cached: list[tuple[int, int]] = []

    first = await _request(
        sandbox_url, EPIC_CROSS_PROJECT, client=client, on_fetch=lambda *a: live.append(a)
    )
    again = await _request(
        sandbox_url,
        EPIC_CROSS_PROJECT,
        client=client,
        refresh=False,
        on_fetch=lambda *a: cached.append(a),
    )

    pages = -(-total // 10)
    assert [done for done, _ in live] == [*(min(10 * n, total) for n in range(1, pages + 1))]
    assert live[-1] == (total, total)
    assert all(done <= of for done, of in live)
    assert cached == [(total, total)]
    assert again.facts == first.facts
    assert again.children == first.children


async def test_a_missing_key_is_404_and_an_issue_that_is_not_an_epic_is_422(
    sandbox_url: str,
) -> None:
    with pytest.raises(ApiError) as missing:
        await _request(sandbox_url, "PAY-99999")
    with pytest.raises(ApiError) as story:
        await _request(sandbox_url, "PAY-3")
    with pytest.raises(ApiError) as malformed:
        await _request(sandbox_url, "PAY-")

    assert (missing.value.status, missing.value.code) == (404, "issue_not_found")
    assert (story.value.status, story.value.code) == (422, "invalid_input")
    assert story.value.detail == "PAY-3 is not an epic."
    assert (malformed.value.status, malformed.value.code) == (422, "invalid_input")


async def test_an_epic_with_more_children_than_the_bound_is_refused(
    sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = len(_raw_children(sandbox_url, EPIC_CROSS_PROJECT))
    monkeypatch.setattr(epic_facts, "EPIC_MAX_CHILDREN", total - 1)

    with pytest.raises(ApiError) as refused:
        await _request(sandbox_url, EPIC_CROSS_PROJECT)

    assert (refused.value.status, refused.value.code) == (422, "invalid_input")
    assert refused.value.detail == (
        f"{EPIC_CROSS_PROJECT} has more than {total - 1:,} direct children: "
        "an epic report covers at most that many."
    )


# --- the rules, on hand-made epics -----------------------------------------------------------

TODAY = dt.date(2026, 3, 31)


def _issue(key: str, category: str, points: float | None, updated_days_ago: int = 0) -> Any:
    updated = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC) - dt.timedelta(days=updated_days_ago)
    status = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[category]
    return NormalizedIssue(
        key=key,
        status=status,
        status_category=category,
        issue_type="Epic" if key.endswith("-10") else "Story",
        story_points=points,
        created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        updated=updated,
    )


def _facts(
    children: list[NormalizedIssue], *, due: dt.date | None, epic_category: str = "indeterminate"
) -> EpicFacts:
    epic = _issue("PAY-10", epic_category, None).model_copy(update={"due": due})
    return epic_facts_compute(epic=epic, children=children, today=TODAY, stale_days=14)


def test_due_status_rules() -> None:
    # 2026-01-01 to 2026-04-30 is 119 days; on 2026-03-31, 89 of them passed: 74.8 %
    half = [_issue("PAY-1", "done", 5), _issue("PAY-2", "new", 5)]
    most = [_issue("PAY-1", "done", 8), _issue("PAY-2", "new", 2)]
    ahead = dt.date(2026, 4, 30)

    at_risk = _facts(half, due=ahead)
    on_track = _facts(most, due=ahead)
    overdue = _facts(most, due=dt.date(2026, 3, 30))
    due_today = _facts(most, due=TODAY)
    no_due = _facts(half, due=None)
    all_done = _facts([_issue("PAY-1", "done", 5)], due=dt.date(2026, 3, 1))
    epic_done = _facts(half, due=dt.date(2026, 3, 1), epic_category="done")

    assert (at_risk.expected_percent, at_risk.done_percent_points) == (74.8, 50.0)
    assert at_risk.due_status == "at_risk"
    assert (on_track.done_percent_points, on_track.due_status) == (80.0, "on_track")
    assert overdue.due_status == "overdue"
    assert (due_today.expected_percent, due_today.due_status) == (100.0, "at_risk")
    assert (no_due.expected_percent, no_due.due_status) == (None, "no_due_date")
    assert all_done.due_status == epic_done.due_status == "done"


def test_progress_is_by_issues_when_no_child_is_estimated() -> None:
    children = [_issue("PAY-1", "done", None), _issue("PAY-2", "new", None)]

    late = _facts(children, due=dt.date(2026, 4, 30))
    early = _facts(children, due=dt.date(2026, 12, 31))

    assert (late.done_percent_points, late.done_percent_issues) == (None, 50.0)
    assert late.due_status == "at_risk"  # 50.0 < 74.8
    assert early.due_status == "on_track"  # 50.0 >= 24.5
    assert late.unestimated == ["PAY-1", "PAY-2"]


def test_stale_is_counted_in_whole_days_and_never_done() -> None:
    children = [
        _issue("PAY-1", "new", 1, updated_days_ago=14),
        _issue("PAY-2", "indeterminate", 1, updated_days_ago=13),
        _issue("PAY-3", "done", 1, updated_days_ago=60),
        _issue("MOB-4", "new", None, updated_days_ago=30),
    ]

    facts = _facts(children, due=None)

    assert facts.stale == ["MOB-4", "PAY-1"]
    assert facts.projects == ["MOB", "PAY"]


def test_percentages_round_half_up_exactly() -> None:
    sixteenth = [_issue("PAY-1", "done", 1), _issue("PAY-2", "new", 15)]
    thirds = [_issue("PAY-1", "done", 0.1), _issue("PAY-2", "new", 0.2)]
    zero = [_issue("PAY-1", "done", 0), _issue("PAY-2", "new", 0)]

    assert _facts(sixteenth, due=None).done_percent_points == 6.3  # 6.25, half up
    assert _facts(thirds, due=None).done_percent_points == 33.3
    assert _facts(zero, due=None).done_percent_points is None  # estimated, but no points
    assert _facts([], due=None).done_percent_issues is None
