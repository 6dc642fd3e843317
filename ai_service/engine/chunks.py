"""Map results of a summary kept in Redis as they finish, so work cut short is not lost.

A run is identified by what decides its chunks and their answers: the account, the Jira site
(cloud id), the language, ``provider:model``, the prompt version, the JQL and every issue's key
with its ``updated`` (:func:`run_key`). A chunk is stored under the run key and its own issues'
keys and ``updated`` (:meth:`ChunkStore.get`/``put``), with the run's guard findings, for
``AI_CHUNK_TTL_SECONDS`` (a day by default).

Chunk boundaries are a pure function of the input and the budget; the budget's token factor
(the calibration) may rise during a run, so a run records the factor it started with and a run
that resumes an unfinished one uses that factor again: it finds the same chunks. A fresh run (the
last one finished) takes the current calibration. ``refresh`` skips the chunks of a finished run;
an unfinished run's chunks are always reused.

Redis is an optimisation here: when it fails, the summary goes on without the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ai_service.contract.schemas import LLMSummary, NormalizedIssue
from ai_service.engine.guards import Review
from core.redis import async_redis_for

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 86_400
PREFIX = "aisum"


def _digest(value: Any) -> str:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _stamps(issues: Sequence[NormalizedIssue]) -> list[list[str]]:
    return [[i.key, i.updated.isoformat() if i.updated else ""] for i in issues]


def run_key(
    *,
    account_id: str,
    cloud_id: str,
    language: str,
    model: str,
    prompt_version: str,
    jql: str,
    issues: Sequence[NormalizedIssue],
) -> str:
    return _digest([account_id, cloud_id, language, model, prompt_version, jql, _stamps(issues)])


FINDINGS = (
    "unknown_citations",
    "numbers_corrected",
    "injection",
    "language_ok",
    "repaired",
    "narrative_from_facts",
)


def _findings(review: Review) -> dict[str, Any]:
    return {name: getattr(review, name) for name in FINDINGS}


@dataclass
class Stored:
    """A chunk's partial summaries (more than one when the server cut it and it was split)."""

    parts: list[tuple[LLMSummary, dict[str, Any]]]

    def reviews(self, review: Review) -> list[tuple[LLMSummary, Review]]:
        out = []
        for summary, findings in self.parts:
            copy = Review(review.facts)
            for name in FINDINGS:
                if name in findings:
                    setattr(copy, name, findings[name])
            out.append((summary, copy))
        return out


class ChunkStore:
    """One run's map results in Redis (see the module's docstring)."""

    def __init__(self, redis_url: str, run: str, *, ttl: int = DEFAULT_TTL_SECONDS) -> None:
        self.redis_url = redis_url
        self.run = run
        self.ttl = ttl
        self.reused = 0
        self.finished_before = False  # the last run of this key ran to its end

    def _redis(self) -> Any:
        return async_redis_for(self.redis_url) if self.redis_url else None

    def _chunk_key(self, issues: Sequence[NormalizedIssue]) -> str:
        return f"{PREFIX}:chunk:{self.run}:{_digest(_stamps(issues))}"

    async def begin(self, factor: float, *, refresh: bool) -> float:
        """The token factor this run sizes its chunks with: an unfinished run's (it resumes),
        else ``factor`` (recorded for a later resume)."""
        client = self._redis()
        if client is None:
            return factor
        key = f"{PREFIX}:run:{self.run}"
        try:
            raw = await client.get(key)
            state = json.loads(raw) if raw else None
            if state is not None and not state.get("finished"):
                return float(state["factor"])
            self.finished_before = state is not None
            if state is not None and not refresh:
                factor = float(state["factor"])  # its chunks are reused: the same boundaries
            await client.set(key, json.dumps({"factor": factor}), ex=self.ttl)
        except Exception as exc:
            logger.warning("summary chunk store unavailable (%s)", type(exc).__name__)
        return factor

    async def get(self, issues: Sequence[NormalizedIssue], *, refresh: bool) -> Stored | None:
        client = self._redis()
        if client is None or (refresh and self.finished_before):
            return None
        try:
            raw = await client.get(self._chunk_key(issues))
        except Exception as exc:
            logger.warning("summary chunk unreadable (%s)", type(exc).__name__)
            return None
        if raw is None:
            return None
        data = json.loads(raw)
        self.reused += 1
        return Stored([(LLMSummary.model_validate(s), f) for s, f in data])

    async def put(
        self, issues: Sequence[NormalizedIssue], parts: Sequence[tuple[LLMSummary, Review]]
    ) -> None:
        client = self._redis()
        if client is None:
            return
        value = [[summary.model_dump(), _findings(review)] for summary, review in parts]
        try:
            await client.set(self._chunk_key(issues), json.dumps(value), ex=self.ttl)
        except Exception as exc:
            logger.warning("summary chunk not saved (%s)", type(exc).__name__)

    async def finish(self, factor: float) -> None:
        """The run ran to its end: a later ``refresh`` redoes its chunks."""
        client = self._redis()
        if client is None:
            return
        try:
            await client.set(
                f"{PREFIX}:run:{self.run}",
                json.dumps({"factor": factor, "finished": True}),
                ex=self.ttl,
            )
        except Exception as exc:
            logger.warning("summary run not marked finished (%s)", type(exc).__name__)
