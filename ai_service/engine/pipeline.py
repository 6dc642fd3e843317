"""Summarize a JQL result and analyze one issue: facts in Python, narrative from the LLM.

Facts first: ``stats`` are counted here and handed to the model as facts; the issue keys it may
cite are listed, and any other key it cites is removed (and counted). Budgets: each issue is one
compact line (its description capped); when the lines exceed ``context_tokens``, they are
summarized in chunks concurrently, then the partial summaries are combined (map-reduce).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from ai_service.contract.schemas import (
    AcceptanceCriteria,
    Analysis,
    AnalysisCoverage,
    AnalyzeRequest,
    Comment,
    Item,
    Language,
    LLMAnalysis,
    LLMItem,
    LLMSummary,
    NormalizedIssue,
    Stats,
    SummarizeRequest,
    Summary,
    SummaryCoverage,
)
from ai_service.engine.config import EngineConfig
from ai_service.engine.llm import Message, llm_client
from ai_service.engine.metrics import CITATIONS_REMOVED
from ai_service.engine.prompts import PROMPT_VERSION, render
from ai_service.engine.text import clean, estimate_tokens, one_line
from core.aio import gather_first_error
from core.keys import ISSUE_KEY_IN_TEXT_RE as KEY_RE

logger = logging.getLogger(__name__)
R = TypeVar("R")

SUMMARY_DESCRIPTION_CHARS = 280
ANALYSIS_DESCRIPTION_CHARS = 8_000
COMMENT_CHARS = 1_500
NONE_LABEL = "(none)"


# -- budgets and compact text ------------------------------------------------------------------


def input_budget(config: EngineConfig) -> int:
    """Tokens a prompt may use: the context minus a reserve for the answer."""
    reserve = min(2_000, config.context_tokens // 4)
    return max(config.context_tokens - reserve, 256)


def language_of(requested: Language | None, config: EngineConfig) -> Language:
    if requested is not None:
        return requested
    return "en" if config.default_language == "en" else "fr"


def issue_line(issue: NormalizedIssue) -> str:
    """One issue as one compact line (plus its capped description)."""
    parts = [
        f"{issue.key} [{one_line(issue.issue_type) or '?'} | {one_line(issue.status) or '?'}"
        f" | {one_line(issue.priority) or NONE_LABEL}]"
        f" summary: {one_line(issue.summary, limit=200)}",
        f"assignee: {one_line(issue.assignee) or NONE_LABEL}",
    ]
    if issue.due:
        parts.append(f"due: {issue.due.isoformat()}")
    if issue.story_points is not None:
        parts.append(f"points: {issue.story_points:g}")
    if issue.sprint:
        parts.append(f"sprint: {one_line(issue.sprint, limit=60)}")
    if issue.parent:
        parts.append(f"parent: {issue.parent.key}")
    if issue.labels:
        parts.append("labels: " + ", ".join(one_line(x, limit=40) for x in issue.labels[:10]))
    if issue.updated:
        parts.append(f"updated: {issue.updated.date().isoformat()}")
    line = " | ".join(parts)
    description = one_line(issue.description, limit=SUMMARY_DESCRIPTION_CHARS)
    return f"{line}\n  description: {description}" if description else line


def summary_stats(issues: Sequence[NormalizedIssue]) -> Stats:
    def count(values: Iterable[str | None]) -> dict[str, int]:
        return dict(Counter(v or NONE_LABEL for v in values).most_common())

    return Stats(
        by_status=count(i.status for i in issues),
        by_priority=count(i.priority for i in issues),
        by_assignee=count(i.assignee for i in issues),
        by_type=count(i.issue_type for i in issues),
    )


def _stats_json(stats: Stats) -> str:
    return json.dumps(stats.model_dump(), ensure_ascii=False, separators=(",", ":"))


@dataclass
class Checked:
    """Items with their unknown citations removed, and how many were removed."""

    items: list[Item]
    removed: int


def check_citations(items: Iterable[LLMItem], allowed: frozenset[str]) -> Checked:
    out, removed = [], 0
    for item in items:
        key = (item.issue_key or "").strip() or None
        if key is not None and key not in allowed:
            removed += 1
            key = None
        out.append(Item(text=item.text, issue_key=key))
    return Checked(out, removed)


def _summary_checked(output: LLMSummary, allowed: frozenset[str]) -> tuple[LLMSummary, int]:
    removed = 0
    lists: dict[str, list[LLMItem]] = {}
    for name in ("highlights", "risks", "blockers", "next_steps"):
        checked = check_citations(getattr(output, name), allowed)
        removed += checked.removed
        lists[name] = [LLMItem(text=i.text, issue_key=i.issue_key) for i in checked.items]
    return LLMSummary(summary=output.summary, **lists), removed


def _messages(language: Language, user: str) -> list[Message]:
    return [
        {"role": "system", "content": render("system", language)},
        {"role": "user", "content": user},
    ]


# -- summarize ---------------------------------------------------------------------------------


def _chunks(lines: Sequence[tuple[str, str]], budget: int) -> list[list[tuple[str, str]]]:
    """(key, line) pairs packed greedily into chunks of at most ``budget`` tokens (key list
    included); an issue is never split."""
    chunks: list[list[tuple[str, str]]] = [[]]
    used = 0
    for key, line in lines:
        cost = estimate_tokens(line) + estimate_tokens(key) + 1
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append((key, line))
        used += cost
    return chunks


async def _summarize_part(
    config: EngineConfig,
    language: Language,
    *,
    jql: str,
    part: list[tuple[str, str]],
    total: int,
    label: str,
    stats: Stats,
) -> tuple[LLMSummary, int]:
    keys = [k for k, _ in part]
    user = render(
        "summarize",
        language,
        jql=jql,
        count=len(part),
        total=total,
        part=label,
        stats=_stats_json(stats),
        keys=", ".join(keys),
        data="\n".join(line for _, line in part),
    )
    output = await llm_client(config).complete_json(
        messages=_messages(language, user),
        output=LLMSummary,
        schema_name="jql_summary",
        repair=render("repair", language, problem="$problem"),
    )
    return _summary_checked(output, frozenset(keys))


async def _combine(
    config: EngineConfig,
    language: Language,
    *,
    jql: str,
    partials: list[LLMSummary],
    analyzed: int,
    total: int,
    stats: Stats,
    allowed: frozenset[str],
) -> tuple[LLMSummary, int]:
    """Partial summaries -> one; in several rounds when they do not fit one prompt."""
    budget = input_budget(config)
    removed = 0
    while len(partials) > 1:
        texts = [
            (f"part{i}", json.dumps(p.model_dump(), ensure_ascii=False))
            for i, p in enumerate(partials)
        ]
        groups = _chunks(texts, max(budget - estimate_tokens(_stats_json(stats)) - 400, 64))
        if len(groups) == len(partials):  # each alone fills a prompt: combine pairwise
            groups = [texts[i : i + 2] for i in range(0, len(texts), 2)]

        async def combine(group: list[tuple[str, str]]) -> tuple[LLMSummary, int]:
            cited = sorted(set(KEY_RE.findall(" ".join(text for _, text in group))) & allowed)
            user = render(
                "combine",
                language,
                jql=jql,
                parts=len(group),
                count=analyzed,
                total=total,
                stats=_stats_json(stats),
                keys=", ".join(cited),
                data="\n\n".join(clean(text) for _, text in group),
            )
            output = await llm_client(config).complete_json(
                messages=_messages(language, user),
                output=LLMSummary,
                schema_name="jql_summary",
                repair=render("repair", language, problem="$problem"),
            )
            return _summary_checked(output, allowed)

        results = await _bounded(config, [combine(g) for g in groups])
        partials = [r[0] for r in results]
        removed += sum(r[1] for r in results)
    return partials[0], removed


async def _bounded(config: EngineConfig, calls: Sequence[Awaitable[R]]) -> list[R]:
    """Run ``calls`` concurrently, at most ``config.map_concurrency`` at once; the first failure
    cancels the others and is raised as itself."""
    semaphore = asyncio.Semaphore(max(config.map_concurrency, 1))

    async def run(call: Awaitable[R]) -> R:
        async with semaphore:
            return await call

    return list(await gather_first_error(*(run(c) for c in calls)))


async def jql_summarize(*, config: EngineConfig, request: SummarizeRequest) -> Summary:
    """The summary of a JQL result (``request.issues``, ``request.total`` matched in Jira)."""
    language = language_of(request.language, config)
    issues = request.issues
    stats = summary_stats(issues)
    jql = one_line(request.jql, limit=2_000)
    lines = [(i.key, issue_line(i)) for i in issues]
    allowed = frozenset(i.key for i in issues)
    overhead = estimate_tokens(
        render("system", language)
        + render(
            "summarize", language, jql=jql, count=0, total=0, part="", stats="", keys="", data=""
        )
    )
    budget = input_budget(config) - overhead - estimate_tokens(_stats_json(stats))
    chunks = _chunks(lines, max(budget, 128))
    total = max(request.total, len(issues))
    if len(chunks) == 1:
        output, removed = await _summarize_part(
            config, language, jql=jql, part=chunks[0], total=total, label="", stats=stats
        )
    else:
        logger.info("map-reduce summary: %d issues in %d chunks", len(issues), len(chunks))
        parts = await _bounded(
            config,
            [
                _summarize_part(
                    config,
                    language,
                    jql=jql,
                    part=chunk,
                    total=total,
                    label=f" — {n}/{len(chunks)}",
                    stats=summary_stats([i for i in issues if i.key in {k for k, _ in chunk}]),
                )
                for n, chunk in enumerate(chunks, start=1)
            ],
        )
        output, removed = await _combine(
            config,
            language,
            jql=jql,
            partials=[p[0] for p in parts],
            analyzed=len(issues),
            total=total,
            stats=stats,
            allowed=allowed,
        )
        removed += sum(p[1] for p in parts)
    if removed:
        CITATIONS_REMOVED.inc(removed)
        logger.warning("removed %d citation(s) of issue keys not in the input", removed)
    return Summary(
        summary=output.summary,
        highlights=[Item(text=i.text, issue_key=i.issue_key) for i in output.highlights],
        risks=[Item(text=i.text, issue_key=i.issue_key) for i in output.risks],
        blockers=[Item(text=i.text, issue_key=i.issue_key) for i in output.blockers],
        next_steps=[Item(text=i.text, issue_key=i.issue_key) for i in output.next_steps],
        stats=stats,
        coverage=SummaryCoverage(
            analyzed=len(issues), total=total, truncated=len(issues) < total, chunks=len(chunks)
        ),
        citations_removed=removed,
        language=language,
        provider=config.provider,
        model=config.model,
        prompt_version=PROMPT_VERSION,
        generated_at=datetime.now(UTC),
    )


# -- analyze -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueContext:
    """The issue and the newest comments that fit the budget, as fenced-ready text."""

    key: str
    data: str
    comments_analyzed: int
    comments_total: int
    allowed: frozenset[str]


def _newest_first(comments: Sequence[Comment]) -> list[Comment]:
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(comments, key=lambda c: c.created or oldest, reverse=True)


def issue_context(request: AnalyzeRequest, *, budget: int) -> IssueContext:
    issue = request.issue
    head = [
        f"key: {issue.key}",
        f"summary: {one_line(issue.summary, limit=300)}",
        f"type: {one_line(issue.issue_type)}",
        f"status: {one_line(issue.status)} ({one_line(issue.status_category)})",
        f"priority: {one_line(issue.priority) or NONE_LABEL}",
        f"assignee: {one_line(issue.assignee) or NONE_LABEL}",
        f"reporter: {one_line(issue.reporter) or NONE_LABEL}",
    ]
    for name, value in (
        ("created", issue.created.isoformat() if issue.created else ""),
        ("updated", issue.updated.isoformat() if issue.updated else ""),
        ("due", issue.due.isoformat() if issue.due else ""),
        ("story points", f"{issue.story_points:g}" if issue.story_points is not None else ""),
        ("sprint", one_line(issue.sprint)),
        ("parent", f"{issue.parent.key} {one_line(issue.parent.summary)}" if issue.parent else ""),
        ("labels", ", ".join(one_line(x) for x in issue.labels)),
        ("fix versions", ", ".join(one_line(x) for x in issue.fix_versions)),
    ):
        if value:
            head.append(f"{name}: {value}")
    description_limit = min(ANALYSIS_DESCRIPTION_CHARS, max(budget * 4 // 2, 200))
    description = clean(issue.description, limit=description_limit) or NONE_LABEL
    blocks = ["\n".join(head) + "\ndescription:\n" + description]
    used = estimate_tokens(blocks[0])
    analyzed = 0
    for comment in _newest_first(request.comments):
        when = comment.created.isoformat() if comment.created else "?"
        block = (
            f"--- comment {one_line(comment.id, limit=32)} by "
            f"{one_line(comment.author) or NONE_LABEL} on {when}:\n"
            f"{clean(comment.body, limit=COMMENT_CHARS)}"
        )
        cost = estimate_tokens(block) + 1
        if used + cost > budget:
            break
        blocks.append(block)
        used += cost
        analyzed += 1
    data = "\n\n".join(blocks)
    parent = [issue.parent.key] if issue.parent else []
    allowed = frozenset({issue.key, *parent, *KEY_RE.findall(data)})
    return IssueContext(
        key=issue.key,
        data=data,
        comments_analyzed=analyzed,
        comments_total=max(request.comments_total, len(request.comments)),
        allowed=allowed,
    )


def analysis_budget(config: EngineConfig, language: Language, template_name: str) -> int:
    overhead = estimate_tokens(
        render("system", language)
        + render(
            template_name,
            language,
            key="",
            task="",
            comments_analyzed=0,
            comments_total=0,
            keys="",
            data="",
        )
    )
    # The allowed keys list is usually a handful; 200 tokens covers it.
    return max(input_budget(config) - overhead - 200, 256)


async def issue_analyze(*, config: EngineConfig, request: AnalyzeRequest) -> Analysis:
    """The analysis of one issue with its newest comments (as many as the budget allows)."""
    language = language_of(request.language, config)
    context = issue_context(request, budget=analysis_budget(config, language, "analyze"))
    user = render(
        "analyze",
        language,
        key=context.key,
        comments_analyzed=context.comments_analyzed,
        comments_total=context.comments_total,
        keys=", ".join(sorted(context.allowed)),
        data=context.data,
    )
    output = await llm_client(config).complete_json(
        messages=_messages(language, user),
        output=LLMAnalysis,
        schema_name="issue_analysis",
        repair=render("repair", language, problem="$problem"),
    )
    removed = 0
    lists: dict[str, list[Item]] = {}
    for name in ("risks", "blockers", "next_actions"):
        checked = check_citations(getattr(output, name), context.allowed)
        removed += checked.removed
        lists[name] = checked.items
    if removed:
        CITATIONS_REMOVED.inc(removed)
        logger.warning("removed %d citation(s) of issue keys not in the input", removed)
    return Analysis(
        issue_key=context.key,
        summary=output.summary,
        status_assessment=output.status_assessment,
        risks=lists["risks"],
        blockers=lists["blockers"],
        acceptance_criteria=AcceptanceCriteria(**output.acceptance_criteria.model_dump()),
        next_actions=lists["next_actions"],
        open_questions=output.open_questions,
        coverage=AnalysisCoverage(
            comments_analyzed=context.comments_analyzed, comments_total=context.comments_total
        ),
        citations_removed=removed,
        language=language,
        provider=config.provider,
        model=config.model,
        prompt_version=PROMPT_VERSION,
        generated_at=datetime.now(UTC),
    )
