"""The plan of the release notes (``ai_proxy.release_notes``) on the sandbox's versions: every
issue of PAY's released version is accounted for, each placement recomputed here from the raw
Jira JSON the sandbox serves (``fixVersion = "name"`` through its HTTP API, with a token of
Alice's), never from the code under test; the unreleased and the empty version; the 404s.

Seeds (``sandbox.atlassian.data.ReleaseSeeds``): PAY 2.3 is released, with stories, tasks,
bugs and epics, some not Done, a Story labelled ``internal`` and a Bug labelled ``chore``; PAY 3.0
is unreleased (open issues only); PAY 3.1 has no issue.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ai_proxy.release_notes import release_notes_request
from ai_service.contract.release_notes import ReleaseNotesRequest
from core.errors import ApiError
from core.redis import get_async_redis
from jira.breaker import Breaker
from jira.client import JiraClient
from sandbox.atlassian.data import Dataset
from tests.sandbox.atlassian_helpers import jira_for
from tests.support.ids import ACME, ALICE
from tests.support.jira import TokenSource, jira_config, site_url, user_context

SEEDS = Dataset(42).release_seeds


def _client(sandbox_url: str) -> JiraClient:
    config = jira_config(sandbox_url)
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


async def _request(sandbox_url: str, version: str, **kwargs: Any) -> ReleaseNotesRequest:
    return await release_notes_request(
        ctx=user_context(),
        project_key=kwargs.pop("project_key", "PAY"),
        version=version,
        language="en",
        refresh=True,
        client=_client(sandbox_url),
        **kwargs,
    )


def _raw_version(sandbox_url: str, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version as Jira lists it, and its issues as Jira searches them."""
    jira = jira_for(sandbox_url, ALICE)
    versions = jira.get("project/PAY/versions").json()
    version = next(v for v in versions if v["name"] == name)
    issues = jira.search_all(
        f'project = PAY AND fixVersion = "{name}"', fields=["issuetype", "labels", "status"]
    )
    return version, issues


def _expected(raw: dict[str, Any], *, released: bool) -> str:
    """The README's rules, read off the raw JSON."""
    fields = raw["fields"]
    kind = fields["issuetype"]["name"]
    labels = {label.casefold() for label in fields["labels"]}
    done = fields["status"]["statusCategory"]["key"] == "done"
    if labels & {"internal", "tech-debt", "dette-technique", "chore"} or (
        kind == "Task" and not labels
    ):
        return "internal"
    if not done:
        return "known_issues" if kind == "Bug" and released else "not_done"
    return {"Story": "features", "Task": "improvements", "Bug": "fixes"}.get(kind, "no_user_impact")


def _placements(request: ReleaseNotesRequest) -> dict[str, str]:
    placed: dict[str, str] = {key: s.kind for s in request.sections for key in s.keys}
    placed.update({o.issue_key: o.reason for o in request.omitted})
    return placed


async def test_every_issue_of_a_released_version_is_in_one_section_or_omitted(
    sandbox_url: str,
) -> None:
    raw_version, raw_issues = _raw_version(sandbox_url, SEEDS.released)

    request = await _request(sandbox_url, SEEDS.released)

    assert request.version.id == raw_version["id"]
    assert request.version.released is True
    assert request.version.release_date is not None
    assert request.version.release_date.isoformat() == raw_version["releaseDate"]
    in_sections = [key for s in request.sections for key in s.keys]
    omitted = [o.issue_key for o in request.omitted]
    assert len(in_sections) + len(omitted) == len(raw_issues)
    assert set(in_sections).isdisjoint(omitted)
    assert _placements(request) == {i["key"]: _expected(i, released=True) for i in raw_issues}
    assert {s.kind for s in request.sections} == {
        "features",
        "improvements",
        "fixes",
        "known_issues",
    }
    assert {o.reason for o in request.omitted} == {"internal", "not_done", "no_user_impact"}
    assert _placements(request)[SEEDS.internal] == "internal"
    assert _placements(request)[SEEDS.chore] == "internal"
    assert [i.key for i in request.issues] == sorted(
        in_sections, key=lambda k: int(k.split("-")[1])
    )
    for section in request.sections:
        assert section.keys == sorted(section.keys, key=lambda k: int(k.split("-")[1]))


async def test_an_unreleased_version_has_no_known_issues_and_reports_progress(
    sandbox_url: str,
) -> None:
    _, raw_issues = _raw_version(sandbox_url, SEEDS.upcoming_version)
    progress: list[tuple[int, int]] = []

    request = await _request(
        sandbox_url, SEEDS.upcoming_version, on_fetch=lambda d, t: progress.append((d, t))
    )

    assert request.version.released is False
    assert _placements(request) == {i["key"]: _expected(i, released=False) for i in raw_issues}
    assert "known_issues" not in {s.kind for s in request.sections}
    assert progress[-1] == (len(raw_issues), len(raw_issues))


async def test_the_empty_version_has_no_section_and_nothing_omitted(sandbox_url: str) -> None:
    request = await _request(sandbox_url, f" {SEEDS.empty_version} ")

    assert request.version.name == SEEDS.empty_version
    assert request.sections == []
    assert request.omitted == []
    assert request.issues == []


@pytest.mark.parametrize(
    ("project_key", "version", "code"),
    [("PAY", "9.9", "version_not_found"), ("NOPE", "2.3", "project_not_found")],
)
async def test_an_unknown_version_or_project_is_404(
    sandbox_url: str, project_key: str, version: str, code: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await _request(sandbox_url, version, project_key=project_key)

    assert caught.value.status == 404
    assert caught.value.code == code
