"""The plan of the release notes of a fix version (issue #17): which issue goes where, decided by
code from each issue's type, labels and status category, never by the model.

:func:`release_plan` is pure (the version's issues in, the sections and the omitted issues out);
:func:`release_notes_request` reads the version and its issues through the jira app's services
(cached like every read, ``refresh`` bypasses) and builds the request sent to ai-service or the
local engine. The rules, first that applies (README, "Release notes: which issue goes where"):

1. **internal** (omitted): a label among :data:`INTERNAL_LABELS` (any case), or type Sub-task
   (any subtask type), or a Task with no label at all (nothing says a user sees it).
2. Not in status category Done:

   * a Bug, in a released version: **known_issues** (shipped with the release, still open);
   * anything else: **not_done** (omitted: it did not ship).
3. Done, by type (any case): Story or New Feature: **features**; Improvement, or a Task with
   at least one label (none internal, by rule 1): **improvements**; Bug: **fixes**.
4. Any other type (Epic, Spike...): **no_user_impact** (omitted: an epic's changes are its
   children's, which have their own line).

Sections keep Jira's order of keys (project, then number); empty sections are not sent. Every
issue of the version is either in one section or omitted with one reason, so
``total = in_notes + omitted``.

The issues are every page of ``project = "KEY" AND fixVersion = <id>`` (the version's id rather
than its name: unambiguous, and needs no quoting whatever the name holds), at most
:data:`MAX_VERSION_ISSUES`; a version with more is refused (422) rather than written from a
part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from accounts.context import UserContext
from ai_proxy.epic_facts import DONE, FetchProgress
from ai_proxy.services import engine_issue, language_resolve
from ai_service.contract.release_notes import (
    MAX_VERSION_ISSUES,
    SECTION_KINDS,
    NotesAudience,
    OmitReason,
    Omitted,
    PlannedSection,
    ReleaseNotesRequest,
    SectionKind,
    VersionInfo,
)
from ai_service.contract.schemas import Language, NormalizedIssue
from core.errors import ApiError, ErrorCode
from core.keys import key_order, project_key_normalize
from jira.client import JiraClient
from jira.errors import VersionNotFound
from jira.services import issues_search, jira_client_for, project_versions_list

INTERNAL_LABELS = frozenset({"internal", "tech-debt", "dette-technique", "chore"})
SUBTASK_TYPES = frozenset({"sub-task", "subtask", "sous-tâche"})
FEATURE_TYPES = frozenset({"story", "new feature"})
IMPROVEMENT_TYPES = frozenset({"improvement"})
TASK_TYPES = frozenset({"task"})
BUG_TYPES = frozenset({"bug"})

Placement = SectionKind | OmitReason


def issue_placement(issue: NormalizedIssue, *, released: bool) -> Placement:
    """Where one issue of the version goes: a section kind, or the reason it is omitted (the
    module's rules, in their order)."""
    kind = (issue.issue_type or "").casefold()
    labels = {label.casefold() for label in issue.labels}
    if labels & INTERNAL_LABELS or kind in SUBTASK_TYPES or (kind in TASK_TYPES and not labels):
        return "internal"
    if issue.status_category != DONE:
        return "known_issues" if kind in BUG_TYPES and released else "not_done"
    if kind in FEATURE_TYPES:
        return "features"
    if kind in IMPROVEMENT_TYPES or kind in TASK_TYPES:
        return "improvements"
    if kind in BUG_TYPES:
        return "fixes"
    return "no_user_impact"


def release_plan(
    issues: Iterable[NormalizedIssue], *, released: bool
) -> tuple[list[PlannedSection], list[Omitted]]:
    """The non-empty sections (in :data:`SECTION_KINDS` order) and the omitted issues, each
    list in Jira's order of keys."""
    by_kind: dict[SectionKind, list[str]] = {kind: [] for kind in SECTION_KINDS}
    omitted: list[Omitted] = []
    for issue in sorted(issues, key=lambda i: key_order(i.key)):
        placement = issue_placement(issue, released=released)
        if placement in by_kind:
            by_kind[placement].append(issue.key)
        else:
            omitted.append(Omitted(issue_key=issue.key, reason=placement))  # type: ignore[arg-type]
    sections = [PlannedSection(kind=kind, keys=keys) for kind, keys in by_kind.items() if keys]
    return sections, omitted


def version_pick(versions: Sequence[VersionInfo], name: str) -> VersionInfo | None:
    """The version called ``name``: Jira's names are unique in a project, whatever the case, so
    an exact match first, then one ignoring case and surrounding spaces."""
    wanted = name.strip()
    exact = next((v for v in versions if v.name == wanted), None)
    if exact is not None:
        return exact
    folded = wanted.casefold()
    return next((v for v in versions if v.name.casefold() == folded), None)


async def release_notes_request(
    *,
    ctx: UserContext,
    project_key: str,
    version: str,
    audience: NotesAudience = "users",
    language: Language | None = None,
    refresh: bool = False,
    on_fetch: Callable[[int, int], None] | None = None,
    client: JiraClient | None = None,
) -> ReleaseNotesRequest:
    """The version ``version`` of project ``project_key``, its issues (every page) and the plan
    of its notes. 422 ``invalid_input`` for a malformed key or a version with more than
    :data:`MAX_VERSION_ISSUES` issues; 404 ``project_not_found`` / ``version_not_found``.
    ``on_fetch(done, total)`` after each page read from Jira, and once with the final count
    (also when the pages come from the cache)."""
    key = project_key_normalize(project_key)
    if key is None:
        raise ApiError("Invalid project key.", code=ErrorCode.INVALID_INPUT, status=422)
    client = client or jira_client_for(ctx)
    listed = await project_versions_list(ctx=ctx, key=key, refresh=refresh, client=client)
    infos = [VersionInfo.model_validate(v.model_dump()) for v in listed.versions]
    info = version_pick(infos, version)
    if info is None:
        raise VersionNotFound(f"{key} has no version named {version.strip()[:100]!r}.")
    progress = FetchProgress(on_fetch)
    found = await issues_search(
        ctx=ctx,
        jql=f'project = "{key}" AND fixVersion = {info.id} ORDER BY key ASC',
        limit=MAX_VERSION_ISSUES,
        refresh=refresh,
        client=client,
        progress=progress.search_progress(),
    )
    if found.truncated:
        raise ApiError(
            f"{key} {info.name} has more than {MAX_VERSION_ISSUES:,} issues: release notes "
            "cover at most that many.",
            code=ErrorCode.INVALID_INPUT,
            status=422,
        )
    progress.report(len(found.issues), len(found.issues))
    issues = [engine_issue(i) for i in found.issues]
    sections, omitted = release_plan(issues, released=info.released)
    planned = {k for s in sections for k in s.keys}
    return ReleaseNotesRequest(
        project_key=key,
        version=info,
        sections=sections,
        omitted=omitted,
        issues=sorted((i for i in issues if i.key in planned), key=lambda i: key_order(i.key)),
        audience=audience,
        language=language_resolve(language),
    )
