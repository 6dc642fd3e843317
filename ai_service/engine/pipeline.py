"""Summarize a JQL result and analyze one issue: facts in Python, narrative from the LLM.

Facts first: ``stats`` are counted here and handed to the model as facts; the issue keys it may
cite are listed, and any other key it cites is removed (and counted). Budgets: each issue is one
compact line (its description capped); when the lines exceed what the model's context holds
(``llm.Budget``, estimates that never undercount), they are summarized in chunks, then the partial
summaries are combined (map-reduce). Every call goes through the shared limiter: the chunks of one
summary take at most the server's concurrency at once. A chunk the server reports as cut is split
in two and done again; an analysis whose prompt was cut is rebuilt with half the comments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

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
    Quality,
    Stats,
    SummarizeRequest,
    Summary,
    SummaryCoverage,
)
from ai_service.engine.checks import (
    NONE_LABEL,
    analysis_empty,
    analysis_facts,
    analysis_guarded,
    analysis_texts,
    first_answer_check,
    invalid_answer_seen,
    summary_empty,
    summary_facts,
    summary_guarded,
    summary_texts,
)
from ai_service.engine.chunks import ChunkStore
from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import LLMRateLimited
from ai_service.engine.guards import Facts, Review, language_detector_ready, merge
from ai_service.engine.llm import Budget, LLMPromptCut, Message, Step, llm_client
from ai_service.engine.prompts import PROMPT_VERSION, render
from ai_service.engine.text import clean, one_line
from ai_service.engine.tokens import estimate_tokens
from core.aio import gather_first_error
from core.keys import ISSUE_KEY_IN_TEXT_RE as KEY_RE

logger = logging.getLogger(__name__)
R = TypeVar("R")

SUMMARY_DESCRIPTION_CHARS = 280
ANALYSIS_DESCRIPTION_CHARS = 8_000
COMMENT_CHARS = 1_500


# -- budgets and compact text ------------------------------------------------------------------


# Rate-limit waits (OpenAI's tokens per minute) one summary may sit out before it gives up.
RATE_LIMIT_WAIT_BUDGET_SECONDS = 90.0
CUT_SPLITS = 3
Cost = Callable[[str], int]


def cost_of(budget: Budget) -> Cost:
    return lambda text: math.ceil(estimate_tokens(text, family=budget.family) * budget.factor)


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


def _items(items: Iterable[LLMItem]) -> list[Item]:
    return [Item(text=i.text, issue_key=i.issue_key) for i in items]


def context_facts(language: Language, context: IssueContext) -> Facts:
    return analysis_facts(
        language,
        allowed=context.allowed,
        comments_analyzed=context.comments_analyzed,
        comments_total=context.comments_total,
        data=context.data,
    )


def _messages(language: Language, user: str) -> list[Message]:
    return [
        {"role": "system", "content": render("system", language)},
        {"role": "user", "content": user},
    ]


# -- summarize ---------------------------------------------------------------------------------


class SummaryProgress(Protocol):
    """What a streamed summary hears of its work (:mod:`.summary_stream`)."""

    async def on_step(self, step: Step, position: int | None) -> None: ...

    def mapped(self, done: int, total: int, reused: int) -> None: ...

    def combining(self, parts: int) -> None: ...

    def narrative(self, attempt: int, piece: str) -> None: ...


def _chunks(lines: Sequence[tuple[str, str]], room: int, cost: Cost) -> list[list[tuple[str, str]]]:
    """(key, line) pairs packed greedily into chunks of at most ``room`` tokens (the line and the
    key in the allowed list); an issue is never split."""
    chunks: list[list[tuple[str, str]]] = [[]]
    used = 0
    for key, line in lines:
        size = cost(line) + cost(key + ", ") + 1
        if chunks[-1] and used + size > room:
            chunks.append([])
            used = 0
        chunks[-1].append((key, line))
        used += size
    return chunks


class RateLimitWaits:
    """The vendor's rate-limit waits one summary may sit out (a map-reduce burst hits a
    tokens-per-minute limit); beyond the budget the 503 ``llm_rate_limited`` goes to the user
    with the vendor's own ``retry_after``."""

    def __init__(self, seconds: float = RATE_LIMIT_WAIT_BUDGET_SECONDS) -> None:
        self.left = seconds

    async def run(self, call: Callable[[], Awaitable[R]]) -> R:
        while True:
            try:
                return await call()
            except LLMRateLimited as exc:
                wait = float(exc.retry_after or 0)
                if not 0 < wait <= self.left:
                    raise
                self.left -= wait
                logger.info("LLM rate limit: waiting %.0fs inside the summary", wait)
                await asyncio.sleep(wait)


def _summarize_user(
    language: Language,
    *,
    jql: str,
    part: Sequence[tuple[str, str]],
    total: int,
    label: str,
    stats: Stats,
) -> str:
    return render(
        "summarize",
        language,
        jql=jql,
        count=len(part),
        total=total,
        part=label,
        stats=_stats_json(stats),
        keys=", ".join(k for k, _ in part),
        data="\n".join(line for _, line in part),
    )


async def _summarize_part(
    config: EngineConfig,
    budget: Budget,
    language: Language,
    *,
    jql: str,
    part: list[tuple[str, str]],
    total: int,
    label: str,
    issues: dict[str, NormalizedIssue],
    splits: int = CUT_SPLITS,
    progress: SummaryProgress | None = None,
    final: bool = False,
) -> list[tuple[LLMSummary, Review]]:
    """The partial summaries of ``part``, guarded: one, or more when the server cut the prompt
    (the part is split in two and each half done again)."""
    keys = [k for k, _ in part]
    stats = summary_stats([issues[k] for k in keys])
    user = _summarize_user(language, jql=jql, part=part, total=total, label=label, stats=stats)
    review = Review(
        summary_facts(
            language,
            stats=stats,
            analyzed=len(part),
            total=total,
            allowed=frozenset(keys),
            data="\n".join(line for _, line in part),
        )
    )
    try:
        output = await _summary_call(
            config, budget, language, user, review, progress=progress, final=final
        )
    except LLMPromptCut:
        if splits <= 0 or len(part) < 2:
            raise
        half = len(part) // 2
        logger.warning("summary chunk of %d issues cut by the server: split in two", len(part))
        budget = await llm_client(config).budget()  # the cut raised the calibration
        results = []
        for piece in (part[:half], part[half:]):
            results.extend(
                await _summarize_part(
                    config,
                    budget,
                    language,
                    jql=jql,
                    part=piece,
                    total=total,
                    label=label,
                    issues=issues,
                    splits=splits - 1,
                    progress=progress,
                )
            )
        return results
    guarded = summary_guarded(
        output, review, issues=issues, stats=stats, analyzed=len(part), total=total
    )
    return [(guarded, review)]


async def _summary_call(
    config: EngineConfig,
    budget: Budget,
    language: Language,
    user: str,
    review: Review,
    *,
    progress: SummaryProgress | None = None,
    final: bool = False,
) -> LLMSummary:
    """One summary (or combine) call: its first answer checked, one repair turn. ``final``: its
    text is the summary's last (a stream shows its narrative as it is written)."""
    return await llm_client(config).complete_json(
        on_step=progress.on_step if progress is not None else None,
        on_text=progress.narrative if progress is not None and final else None,
        messages=_messages(language, user),
        output=LLMSummary,
        schema_name="jql_summary",
        repair=render("repair", language, problem="$problem"),
        revise=render("revise", language, problem="$problem"),
        check=first_answer_check(review, summary_texts, summary_empty),
        on_invalid=invalid_answer_seen(review),
        budget=budget,
    )


async def _combine(
    config: EngineConfig,
    budget: Budget,
    language: Language,
    *,
    jql: str,
    partials: list[LLMSummary],
    analyzed: int,
    total: int,
    stats: Stats,
    allowed: frozenset[str],
    waits: RateLimitWaits,
    issues: dict[str, NormalizedIssue],
    facts: Facts,
    progress: SummaryProgress | None = None,
) -> tuple[LLMSummary, list[Review]]:
    """Partial summaries -> one; in several rounds when they do not fit one prompt."""
    reviews: list[Review] = []
    cost = cost_of(budget)
    fixed = [
        render("system", language),
        render(
            "combine",
            language,
            jql=jql,
            parts=0,
            count=analyzed,
            total=total,
            stats=_stats_json(stats),
            keys=", ".join(sorted(allowed)),
            data="",
        ),
    ]
    room = max(budget.data_room(fixed), 64)
    while len(partials) > 1:
        texts = [
            (f"part{i}", json.dumps(p.model_dump(), ensure_ascii=False))
            for i, p in enumerate(partials)
        ]
        groups = _chunks(texts, room, cost)
        if len(groups) == len(partials):  # each alone fills a prompt: combine pairwise
            groups = [texts[i : i + 2] for i in range(0, len(texts), 2)]
        last_round = len(groups) == 1
        if progress is not None:
            progress.combining(len(partials))

        def combine(
            group: list[tuple[str, str]], last_round: bool
        ) -> Callable[[], Awaitable[tuple[LLMSummary, Review]]]:
            async def call() -> tuple[LLMSummary, Review]:
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
                review = Review(facts)
                output = await _summary_call(
                    config, budget, language, user, review, progress=progress, final=last_round
                )
                guarded = summary_guarded(
                    output, review, issues=issues, stats=stats, analyzed=analyzed, total=total
                )
                return guarded, review

            return call

        results = await _bounded(config, [combine(g, last_round) for g in groups], waits)
        partials = [r[0] for r in results]
        reviews.extend(r[1] for r in results)
    return partials[0], reviews


async def _bounded(
    config: EngineConfig, calls: Sequence[Callable[[], Awaitable[R]]], waits: RateLimitWaits
) -> list[R]:
    """Run ``calls`` at most ``config.concurrency`` at once (the shared limiter caps the LLM
    server across processes; this keeps one summary from filling its queue); rate limits are
    waited out within ``waits``; the first other failure cancels the others (TaskGroup) and is
    raised as itself.

    A call that fails marks the batch failed before it gives its semaphore place up: the next
    call wakes before the TaskGroup cancels it, and without the mark it sent its request first,
    so an LLM that hangs cost two timeouts (the first chunk's, then the second's, each a call
    the server saw) instead of one."""
    semaphore = asyncio.Semaphore(config.concurrency)
    failed = asyncio.Event()

    async def run(call: Callable[[], Awaitable[R]]) -> R:
        async with semaphore:
            if failed.is_set():
                await asyncio.Future()  # the TaskGroup cancels this call in a moment
            try:
                return await waits.run(call)
            except BaseException:
                failed.set()
                raise

    return list(await gather_first_error(*(run(c) for c in calls)))


async def jql_summarize(
    *,
    config: EngineConfig,
    request: SummarizeRequest,
    progress: SummaryProgress | None = None,
    chunks: ChunkStore | None = None,
) -> Summary:
    """The summary of a JQL result (``request.issues``, ``request.total`` matched in Jira).
    ``progress`` hears each chunk, the combine, the waits and the final narrative; ``chunks``
    keeps and reuses the map results (:mod:`.chunks`)."""
    language = language_of(request.language, config)
    await language_detector_ready()
    issues = request.issues
    by_key = {i.key: i for i in issues}
    stats = summary_stats(issues)
    jql = one_line(request.jql, limit=2_000)
    lines = [(i.key, issue_line(i)) for i in issues]
    allowed = frozenset(i.key for i in issues)
    total = max(request.total, len(issues))
    if not issues:
        # Nothing to summarize: the model is not asked (it could only invent).
        return _summary_out(
            config,
            language,
            LLMSummary(
                summary=NO_ISSUES[language], highlights=[], risks=[], blockers=[], next_steps=[]
            ),
            stats=stats,
            coverage=SummaryCoverage(analyzed=0, total=total, truncated=total > 0, chunks=0),
            quality=Quality(),
        )
    budget = await llm_client(config).budget()
    if chunks is not None:
        factor = await chunks.begin(budget.factor, refresh=request.refresh)
        budget = dataclasses.replace(budget, factor=factor)
    fixed = [
        render("system", language),
        _summarize_user(
            language,
            jql=jql,
            part=[],
            total=total,
            label=" — 99/99",
            stats=stats,
        ),
    ]
    groups = _chunks(lines, max(budget.data_room(fixed), 128), cost_of(budget))
    waits = RateLimitWaits()
    facts = summary_facts(
        language,
        stats=stats,
        analyzed=len(issues),
        total=total,
        allowed=allowed,
        data="\n".join(line for _, line in lines),
    )
    mapped = 0
    if progress is not None and len(groups) > 1:
        progress.mapped(0, len(groups), 0)

    def part(
        n: int, chunk: list[tuple[str, str]]
    ) -> Callable[[], Awaitable[list[tuple[LLMSummary, Review]]]]:
        label = f" — {n}/{len(groups)}" if len(groups) > 1 else ""
        chunk_issues = [by_key[k] for k, _ in chunk]

        async def call() -> list[tuple[LLMSummary, Review]]:
            nonlocal mapped
            stored = None
            if chunks is not None:
                stored = await chunks.get(chunk_issues, refresh=request.refresh)
            if stored is not None:
                results = stored.reviews(Review(facts))
            else:
                results = await _summarize_part(
                    config,
                    budget,
                    language,
                    jql=jql,
                    part=chunk,
                    total=total,
                    label=label,
                    issues=by_key,
                    progress=progress,
                    final=len(groups) == 1,
                )
                if chunks is not None:
                    await chunks.put(chunk_issues, results)
            mapped += 1
            if progress is not None and len(groups) > 1:
                progress.mapped(mapped, len(groups), chunks.reused if chunks else 0)
            return results

        return call

    if len(groups) > 1:
        logger.info("map-reduce summary: %d issues in %d chunks", len(issues), len(groups))
    parts = [
        p
        for ps in await _bounded(config, [part(n, c) for n, c in enumerate(groups, 1)], waits)
        for p in ps
    ]
    reviews = [p[1] for p in parts]
    if len(parts) == 1:
        output = parts[0][0]
    else:
        output, combined = await _combine(
            config,
            budget,
            language,
            jql=jql,
            partials=[p[0] for p in parts],
            analyzed=len(issues),
            total=total,
            stats=stats,
            allowed=allowed,
            waits=waits,
            issues=by_key,
            facts=facts,
            progress=progress,
        )
        reviews.extend(combined)
    quality = merge(reviews, Review(facts)).quality()
    if quality.unknown_citations_removed:
        logger.warning(
            "removed %d citation(s) of issue keys not in the input",
            quality.unknown_citations_removed,
        )
    coverage = SummaryCoverage(
        analyzed=len(issues), total=total, truncated=len(issues) < total, chunks=len(parts)
    )
    if chunks is not None:
        await chunks.finish(budget.factor)
    return _summary_out(config, language, output, stats=stats, coverage=coverage, quality=quality)


NO_ISSUES = {
    "fr": "Aucun ticket ne correspond à la requête : il n'y a rien à résumer.",
    "en": "No issue matches the query: there is nothing to summarize.",
}


def _summary_out(
    config: EngineConfig,
    language: Language,
    output: LLMSummary,
    *,
    stats: Stats,
    coverage: SummaryCoverage,
    quality: Quality,
) -> Summary:
    return Summary(
        summary=output.summary,
        highlights=_items(output.highlights),
        risks=_items(output.risks),
        blockers=_items(output.blockers),
        next_steps=_items(output.next_steps),
        stats=stats,
        coverage=coverage,
        citations_removed=quality.unknown_citations_removed,
        quality=quality,
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
    issue: NormalizedIssue


def _newest_first(comments: Sequence[Comment]) -> list[Comment]:
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(comments, key=lambda c: c.created or oldest, reverse=True)


def _when(value: datetime | None) -> str:
    """Minutes, UTC: microseconds and offsets cost tokens and tell the model nothing."""
    if value is None:
        return "?"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def issue_context(request: AnalyzeRequest, *, room: int, cost: Cost | None = None) -> IssueContext:
    """The issue's header and description, then its newest comments while they fit ``room``
    tokens. Comment headers are short (author and minute; no comment id, no microseconds)."""
    cost = cost or estimate_tokens
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
        ("created", issue.created.date().isoformat() if issue.created else ""),
        ("updated", issue.updated.date().isoformat() if issue.updated else ""),
        ("due", issue.due.isoformat() if issue.due else ""),
        ("story points", f"{issue.story_points:g}" if issue.story_points is not None else ""),
        ("sprint", one_line(issue.sprint)),
        ("parent", f"{issue.parent.key} {one_line(issue.parent.summary)}" if issue.parent else ""),
        ("labels", ", ".join(one_line(x) for x in issue.labels)),
        ("fix versions", ", ".join(one_line(x) for x in issue.fix_versions)),
    ):
        if value:
            head.append(f"{name}: {value}")
    # The description takes at most half the room (about 3 characters a token).
    description_limit = min(ANALYSIS_DESCRIPTION_CHARS, max(room * 3 // 2, 200))
    description = clean(issue.description, limit=description_limit) or NONE_LABEL
    blocks = ["\n".join(head) + "\ndescription:\n" + description]
    used = cost(blocks[0])
    analyzed = 0
    for comment in _newest_first(request.comments):
        block = (
            f"--- {one_line(comment.author, limit=80) or NONE_LABEL}, {_when(comment.created)}:\n"
            f"{clean(comment.body, limit=COMMENT_CHARS)}"
        )
        size = cost(block) + 1
        if used + size > room:
            break
        blocks.append(block)
        used += size
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
        issue=issue,
    )


# The allowed keys line is usually a handful of keys; this covers a long one.
KEYS_RESERVE_TOKENS = 200


def analysis_room(budget: Budget, language: Language, template_name: str, **values: str) -> int:
    """Tokens the issue's data may take in the ``template_name`` prompt."""
    fixed = [
        render("system", language),
        render(
            template_name,
            language,
            key="",
            comments_analyzed=0,
            comments_total=0,
            keys="",
            data="",
            **values,
        ),
    ]
    room = budget.data_room(fixed)
    return max(room - min(KEYS_RESERVE_TOKENS, room // 10), 256)


def analysis_messages(
    language: Language, template_name: str, context: IssueContext, **values: str
) -> list[Message]:
    user = render(
        template_name,
        language,
        key=context.key,
        comments_analyzed=context.comments_analyzed,
        comments_total=context.comments_total,
        keys=", ".join(sorted(context.allowed)),
        data=context.data,
        **values,
    )
    return _messages(language, user)


async def issue_analyze(*, config: EngineConfig, request: AnalyzeRequest) -> Analysis:
    """The analysis of one issue with its newest comments (as many as the budget allows)."""
    language = language_of(request.language, config)
    await language_detector_ready()
    client = llm_client(config)
    budget = await client.budget()
    room = analysis_room(budget, language, "analyze")
    for attempt in (1, 2):
        context = issue_context(request, room=room, cost=cost_of(budget))
        review = Review(context_facts(language, context))
        try:
            output = await client.complete_json(
                messages=analysis_messages(language, "analyze", context),
                output=LLMAnalysis,
                schema_name="issue_analysis",
                repair=render("repair", language, problem="$problem"),
                revise=render("revise", language, problem="$problem"),
                check=first_answer_check(review, analysis_texts, analysis_empty),
                on_invalid=invalid_answer_seen(review),
                budget=budget,
            )
            break
        except LLMPromptCut:
            if attempt == 2:
                raise
            logger.warning(
                "analysis prompt of %s cut by the server: half the comments", context.key
            )
            budget = await client.budget()
            room //= 2
    output = analysis_guarded(
        output,
        review,
        issue=request.issue,
        comments_analyzed=context.comments_analyzed,
        comments_total=context.comments_total,
    )
    quality = review.quality()
    return Analysis(
        issue_key=context.key,
        summary=output.summary,
        status_assessment=output.status_assessment,
        risks=_items(output.risks),
        blockers=_items(output.blockers),
        acceptance_criteria=AcceptanceCriteria(**output.acceptance_criteria.model_dump()),
        next_actions=_items(output.next_actions),
        open_questions=output.open_questions,
        coverage=AnalysisCoverage(
            comments_analyzed=context.comments_analyzed, comments_total=context.comments_total
        ),
        citations_removed=quality.unknown_citations_removed,
        quality=quality,
        language=language,
        provider=config.provider,
        model=config.model,
        prompt_version=PROMPT_VERSION,
        generated_at=datetime.now(UTC),
    )
