"""Jira Software in tests: the Agile scopes, a client and a signed-in context that carry them, and
sprint facts recomputed from the sandbox's raw data (its ``Dataset``: current values and the
changelog as it serves them), independently of ``ai_proxy.sprint_facts``."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from accounts.context import UserContext
from accounts.store import get_store
from accounts.vault import vault_encrypt
from sandbox.atlassian.data import (
    FLAGGED_FIELD,
    SPRINT_FIELD,
    STORY_POINTS_FIELD,
    Dataset,
    IssueCore,
    Sprint,
)
from tests.support.ids import ACME
from tests.support.jira import site_url
from tests.support.signin import tokens_for

AGILE_SCOPES = (
    "read:jira-work read:jira-user offline_access read:board-scope:jira-software "
    "read:sprint:jira-software"
)
DATA = Dataset(42)


def agile_context(sandbox_url: str, account_id: str, cloud_id: str = ACME) -> UserContext:
    """A context whose session vault holds a fresh sandbox token with the Agile scopes (what a
    sign-in stores), so that services build their client on the vault as in production."""
    tokens = tokens_for(sandbox_url, account_id, scope=AGILE_SCOPES)
    sid = f"test-agile-{uuid.uuid4().hex}"
    entry = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token", ""),
        "expires_at": time.time() + int(tokens.get("expires_in", 3600)),
        "scopes": AGILE_SCOPES.split(),
    }
    get_store().set_vault(sid, vault_encrypt({cloud_id: entry}), 3600)
    return UserContext(
        account_id=account_id,
        display_name=account_id,
        session_key=sid,
        cloud_id=cloud_id,
        site_url=site_url(cloud_id),
    )


def _value_at(issue: IssueCore, field: str, when: dt.datetime) -> Any:
    """The raw value of ``field`` at ``when``: the ``from`` (``fromString`` for numbers and the
    Flagged checkbox) of the first later change in the sandbox's changelog, else now's value."""
    for history in sorted(DATA.changelog(issue), key=lambda h: h["created"]):
        if history["created"] <= when:
            continue
        for item in history["items"]:
            if item["fieldId"] == field:
                return (
                    item["fromString"]
                    if field in (STORY_POINTS_FIELD, FLAGGED_FIELD)
                    else (item["from"])
                )
    if field == SPRINT_FIELD:
        sprints = (*issue.sprint_trail, issue.sprint) if issue.sprint else ()
        return ", ".join(str(s.id) for s in sprints)
    if field == STORY_POINTS_FIELD:
        return None if issue.story_points is None else f"{issue.story_points:g}"
    if field == FLAGGED_FIELD:
        return "Impediment" if issue.flagged else None
    return issue.status.id


def _in(issue: IssueCore, sprint: Sprint, when: dt.datetime) -> bool:
    if when < issue.created:
        return False
    ids = str(_value_at(issue, SPRINT_FIELD, when) or "").replace(" ", "").split(",")
    return str(sprint.id) in ids


def _entry(issue: IssueCore, sprint: Sprint, start: dt.datetime, end: dt.datetime) -> Any:
    if start < issue.created <= end and _in(issue, sprint, issue.created):
        return issue.created
    for history in sorted(DATA.changelog(issue), key=lambda h: h["created"]):
        if not start < history["created"] <= end:
            continue
        for item in history["items"]:
            if item["fieldId"] != SPRINT_FIELD:
                continue
            was = str(sprint.id) in (item["from"] or "").replace(" ", "").split(",")
            now = str(sprint.id) in (item["to"] or "").replace(" ", "").split(",")
            if now and not was:
                return history["created"]
    return None


@dataclass(frozen=True)
class Expected:
    committed: list[str]
    added: list[str]
    removed: list[str]
    completed: list[str]
    not_completed: list[str]
    carried_over: list[str]
    points: dict[str, float]
    estimate_changes: dict[str, tuple[float | None, float | None]]
    flagged: list[str]


def order(keys: Any) -> list[str]:
    return sorted(keys, key=lambda k: (k.rsplit("-", 1)[0], int(k.rsplit("-", 1)[1])))


def expected_facts(project: str, sprint: Sprint) -> Expected:
    """A closed sprint's membership as the sandbox's own data implies it."""
    start, end = sprint.start, sprint.end  # the sandbox completes a sprint at its end date
    issues = DATA.by_project[project]
    later = {s.id for s in DATA.sprints[project] if s.start > sprint.start}
    committed = [i for i in issues if _in(i, sprint, start)]
    added = [i for i in issues if i not in committed and _entry(i, sprint, start, end) is not None]
    ever = committed + added
    removed = [i for i in ever if not _in(i, sprint, end)]
    done_ids = {s.id for s in DATA.issues[f"{project}-1"].project.statuses if s.category == "done"}
    at_end = [i for i in ever if i not in removed]
    completed = [i for i in at_end if _value_at(i, "status", end) in done_ids]
    not_completed = [i for i in at_end if i not in completed]
    carried = [
        i
        for i in not_completed
        if later & {s.id for s in (*i.sprint_trail, *((i.sprint,) if i.sprint else ()))}
    ]

    def points(issue: IssueCore, when: dt.datetime) -> float | None:
        value = _value_at(issue, STORY_POINTS_FIELD, when)
        return None if value is None else float(value)

    entered = {i.key: start if i in committed else _entry(i, sprint, start, end) for i in ever}
    changes = {}
    for issue in ever:
        before = points(issue, entered[issue.key])
        after = points(issue, end)
        if issue in removed:
            after = before
            for history in DATA.changelog(issue):
                for item in history["items"]:
                    if item["fieldId"] == SPRINT_FIELD and start < history["created"] <= end:
                        after = points(issue, history["created"])
        if before != after:
            changes[issue.key] = (before, after)
    return Expected(
        committed=order(i.key for i in committed),
        added=order(i.key for i in added),
        removed=order(i.key for i in removed),
        completed=order(i.key for i in completed),
        not_completed=order(i.key for i in not_completed),
        carried_over=order(i.key for i in carried),
        points={i.key: points(i, entered[i.key]) or 0.0 for i in ever},
        estimate_changes=changes,
        flagged=order(i.key for i in at_end if _value_at(i, FLAGGED_FIELD, end)),
    )
