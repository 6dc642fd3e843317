"""The engine's one way to call the LLM: budgets, the shared limiter, timeouts, reasoning kept out
of the text, cut prompts and cut answers detected, JSON validated and repaired once.

A call goes: the context is sized from what the model can do (``budget()``); the prompt is costed
with an estimate that never undercounts; a slot of the LLM server is waited for in the shared
FIFO queue (its position reported); the answer is streamed (JSON calls too) under four timeouts
(connect, first token, between tokens, total); the server's own prompt count is compared with the
estimate: a prompt it cut is never an answer (``LLMPromptCut``, retried smaller by the pipeline)
and an uncut one calibrates later estimates.

One ``LLMClient`` per event loop and configuration: httpx connections belong to the loop that
opened them, so a client must not be shared across loops (tests run several).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ai_service.engine.config import MIN_CONTEXT_TOKENS, EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMContextExceeded,
    LLMInvalidOutput,
    LLMModelMissing,
    LLMOutputCut,
    LLMTimeout,
    LLMUnavailable,
)
from ai_service.engine.guards import json_text
from ai_service.engine.limiter import LimiterSpec, limiter_for
from ai_service.engine.metrics import LLM_CALLS, LLM_CONTEXT_TRUNCATED, LLM_TOKENS
from ai_service.engine.providers import (
    ChatCall,
    Finished,
    ModelInfo,
    Provider,
    Thinking,
    provider_build,
)
from ai_service.engine.providers.base import Chunk
from ai_service.engine.providers.base import Message as ChatMessage
from ai_service.engine.tokens import Calibration, family_of, messages_tokens
from core.http import per_loop

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
# What a caller hears while its call waits: ("queue", position), ("load", None), ("think", None).
Step = Literal["queue", "load", "think"]
OnStep = Callable[[Step, int | None], Awaitable[None]]

MAX_OUTPUT_TOKENS = 2_048
# Kept free in a first prompt for its repair turn (the invalid answer quoted, the problem).
REPAIR_RESERVE_TOKENS = 700
REPAIR_ANSWER_CHARS = 2_000
INFO_CACHE_SECONDS = 60.0


class LLMPromptCut(LLMContextExceeded):
    """The server reports fewer prompt tokens than were sent: it cut the front of the prompt."""


@dataclass(frozen=True)
class Budget:
    """One model's context as the engine uses it: ``context_tokens`` is sent as ``num_ctx`` on
    every request (one value per model, so Ollama never reloads it), ``output_tokens`` as
    ``num_predict``; the prompt (template included) gets the rest."""

    context_tokens: int
    output_tokens: int
    family: str
    factor: float

    @property
    def prompt_room(self) -> int:
        return self.context_tokens - self.output_tokens

    def cost(self, contents: Sequence[str]) -> int:
        """The calibrated estimate of a prompt of these messages."""
        return messages_tokens(list(contents), family=self.family, factor=self.factor)

    def raw_cost(self, contents: Sequence[str]) -> int:
        return messages_tokens(list(contents), family=self.family)

    def data_room(self, fixed: Sequence[str], *, repair: bool = True) -> int:
        """Tokens left for the data once the ``fixed`` texts are in the prompt (and the room a
        repair turn will need)."""
        reserve = min(REPAIR_RESERVE_TOKENS, self.prompt_room // 6) if repair else 0
        # The data is one more message's worth of estimate: costed at the same factor.
        room = self.prompt_room - self.cost(fixed) - reserve
        return max(math.floor(room / self.factor), 0)


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int | None


class ThinkFilter:
    """``<think>…</think>`` removed from streamed content (older Ollama servers and some
    OpenAI-compatible ones put the reasoning there), tags split across chunks included."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""
        self.seen = False  # a think block was seen
        self.started = False  # visible text was given out

    def feed(self, text: str) -> tuple[str, bool]:
        """(visible text, whether reasoning was seen in this piece)."""
        data, self.pending = self.pending + text, ""
        out: list[str] = []
        thought = False
        while True:
            tag = self.CLOSE if self.inside else self.OPEN
            index = data.find(tag)
            if index < 0:
                keep = _partial_suffix(data, tag)
                segment, self.pending = data[: len(data) - keep], data[len(data) - keep :]
                if self.inside:
                    thought = thought or bool(segment)
                else:
                    out.append(segment)
                break
            if self.inside:
                thought = True
            else:
                out.append(data[:index])
            data = data[index + len(tag) :]
            self.inside = not self.inside
            if self.inside:
                thought = self.seen = True
        visible = "".join(out)
        if not self.started:
            # The blank line a model writes after its reasoning is no part of the answer.
            visible = visible.lstrip() if self.seen else visible
            self.started = bool(visible)
        return visible, thought

    def flush(self) -> str:
        rest, self.pending = ("" if self.inside else self.pending), ""
        return rest


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of ``text`` that begins ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def prompt_was_cut(
    reported: int | None, *, estimated: int, context_tokens: int, provider: str
) -> bool:
    """Whether the server's prompt count says it dropped part of the prompt.

    Ollama keeps ``num_ctx`` tokens of a longer prompt (2025 runners) or about half of them
    (llama-server, 2026): a count at the context, or at half of it while the estimate is far
    larger, is a cut. A count merely below the estimate is not: Ollama reports only the tokens it
    evaluated, so a prompt that reuses its cache counts low. OpenAI-compatible servers report
    the whole prompt: one far below the estimate was cut (Ollama's ``/v1`` keeps 4,096)."""
    if reported is None or reported <= 0:
        return False
    if provider == "ollama":
        if reported >= context_tokens - 16:
            return True
        half = context_tokens // 2
        return reported < 0.6 * estimated and abs(reported - half) <= 64
    return reported < 0.6 * estimated


class LLMClient:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.provider: Provider = provider_build(config)
        self.calibration = Calibration(config.redis_url)
        self.limiter = limiter_for(
            LimiterSpec(
                scope=config.limiter_scope,
                concurrency=config.concurrency,
                queue_max=config.queue_max,
                redis_url=config.redis_url,
            )
        )
        self._info: ModelInfo | None = None
        self._info_at = 0.0

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def is_closed(self) -> bool:
        return bool(getattr(self.provider, "is_closed", False))

    async def model_info(self, *, fresh: bool = False) -> ModelInfo:
        now = asyncio.get_running_loop().time()
        if fresh or self._info is None or now - self._info_at > INFO_CACHE_SECONDS:
            self._info = await self.provider.model_info()
            self._info_at = now
        return self._info

    def context_for(self, info: ModelInfo) -> int:
        """``num_ctx``: the model's context, capped by ``LLM_CONTEXT_TOKENS`` (auto: 16,384)."""
        cap = self.config.context_cap
        return min(info.context_tokens, cap) if info.context_tokens else cap

    async def budget(self) -> Budget:
        info = await self.model_info()
        if not info.present:
            raise LLMModelMissing(self.model, provider=self.config.provider)
        context = self.context_for(info)
        if context < MIN_CONTEXT_TOKENS:
            raise LLMUnavailable(
                f"The model's usable context ({context} tokens) is below {MIN_CONTEXT_TOKENS}."
            )
        # Ollama counts a thinking model's reasoning in num_predict: room for it too.
        thinking = bool(self.config.think) or self.model.lower().startswith("gpt-oss")
        # A quarter of the context, but never so little that a JSON answer cannot be written
        # in a small one (half of it below 4,096).
        output = min(MAX_OUTPUT_TOKENS, max(context // 4, min(1_024, context // 2)))
        if thinking:
            output = min(2 * output, context // 2)
        return Budget(
            context_tokens=context,
            output_tokens=output,
            family=family_of(self.model),
            factor=await self.calibration.factor(self.model),
        )

    # -- calls -------------------------------------------------------------------------------

    async def complete_json(
        self,
        *,
        messages: Sequence[Message],
        output: type[T],
        schema_name: str,
        repair: str,
        budget: Budget | None = None,
        on_step: OnStep | None = None,
        check: Callable[[T], str | None] | None = None,
        revise: str = "",
        on_invalid: Callable[[str], None] | None = None,
        on_text: Callable[[int, str], None] | None = None,
    ) -> T:
        """A JSON answer requested with ``output``'s schema, validated; one repair turn (the
        ``repair`` user message, ``$problem`` filled in), built afresh within the budget, if the
        answer is invalid, then ``LLMInvalidOutput``. ``check`` judges a valid first answer (the
        guardrails: language, injection, empty fields): the problem it returns gets the repair
        turn with ``revise``; the second answer is returned whatever ``check`` thinks of it (the
        caller's guards sanitize it). One repair turn in all. ``on_invalid`` hears the text of a
        first answer that was not valid (an injected format, say). ``on_text`` hears each piece
        of text as it comes, with its attempt (1, or 2 for the repair turn)."""
        budget = budget or await self.budget()
        schema = strict_schema(output)
        conversation = list(messages)
        for attempt in (1, 2):
            parts: list[str] = []
            try:
                async for piece in self.stream(
                    messages=conversation,
                    budget=budget,
                    schema=schema,
                    schema_name=schema_name,
                    on_step=on_step,
                    kind="json",
                ):
                    parts.append(piece)
                    if on_text is not None:
                        on_text(attempt, piece)
            except LLMOutputCut:
                raise  # the same limit would cut a repair too
            except LLMInvalidOutput:
                # An envelope that is not JSON: as invalid as bad content, so it gets the repair.
                parts = []
            content = "".join(parts)
            try:
                value = output.model_validate_json(json_text(content))
            except ValidationError as exc:
                logger.warning(
                    "invalid JSON from the LLM (attempt %d, %d errors)", attempt, exc.error_count()
                )
                if on_invalid is not None and attempt == 1:
                    on_invalid(content)
                problem = "; ".join(
                    f"{'/'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                    for e in exc.errors()[:5]
                )
                conversation = repair_conversation(
                    messages, content, repair.replace("$problem", problem[:500]), budget
                )
                continue
            problem_found = check(value) if check is not None and attempt == 1 else None
            if not problem_found:
                return value
            logger.warning("LLM answer refused by the guardrails: %s", problem_found[:200])
            request = (revise or repair).replace("$problem", problem_found[:500])
            conversation = repair_conversation(messages, content, request, budget)
        LLM_CALLS.labels("json", LLMInvalidOutput.code).inc()
        raise LLMInvalidOutput()

    async def stream(
        self,
        *,
        messages: Sequence[Message],
        budget: Budget | None = None,
        schema: dict[str, Any] | None = None,
        schema_name: str = "",
        on_step: OnStep | None = None,
        kind: str = "stream",
    ) -> AsyncGenerator[str, None]:
        """The answer's text as the model writes it (reasoning dropped). Raises after the last
        piece when the server cut the prompt (``LLMPromptCut``) or the answer stopped at its
        length limit (``LLMOutputCut``): such text is never a complete answer. Closing this
        generator closes the upstream response, so the LLM server sees the client leave."""
        budget = budget or await self.budget()
        contents = [m["content"] for m in messages]
        estimated = budget.raw_cost(contents)
        if budget.cost(contents) > budget.prompt_room:
            logger.warning(
                "prompt over budget: %d > %d tokens", budget.cost(contents), budget.prompt_room
            )
        call = ChatCall(
            messages=[ChatMessage(m["role"], m["content"]) for m in messages],
            max_output_tokens=budget.output_tokens,
            context_tokens=budget.context_tokens,
            schema=schema,
            schema_name=schema_name,
        )

        async def queued(position: int) -> None:
            if on_step is not None:
                await on_step("queue", position)

        finished: Finished | None = None
        try:
            async with self.limiter.slot(queued):
                if (
                    on_step is not None
                    and await self.provider.loaded(budget.context_tokens) is False
                ):
                    await on_step("load", None)
                thinker = ThinkFilter()
                thinking_told = False
                for attempt in (1, 2):
                    produced = False
                    chunks = self.provider.stream(call)
                    try:
                        async for chunk in self._timed(chunks):
                            produced = True
                            if isinstance(chunk, Finished):
                                finished = chunk
                                break
                            visible, thought = (
                                ("", True)
                                if isinstance(chunk, Thinking)
                                else thinker.feed(chunk.text)
                            )
                            if thought and not thinking_told and on_step is not None:
                                thinking_told = True
                                await on_step("think", None)
                            if visible:
                                yield visible
                        break
                    except EngineError as exc:
                        if attempt == 1 and exc.retryable and not produced:
                            logger.warning("LLM server failed before answering: once more")
                            continue
                        raise
                    finally:
                        await _aclose(chunks)
                rest = thinker.flush()
                if rest:
                    yield rest
        except EngineError as exc:
            LLM_CALLS.labels(kind, exc.code).inc()
            logger.warning("LLM call failed: %s (%s)", exc.code, exc.detail)
            raise
        if finished is None:
            LLM_CALLS.labels(kind, LLMUnavailable.code).inc()
            raise LLMUnavailable("The language model's stream ended early.")
        self._record_usage(finished)
        if prompt_was_cut(
            finished.prompt_tokens,
            estimated=estimated,
            context_tokens=budget.context_tokens,
            provider=self.config.provider,
        ):
            LLM_CONTEXT_TRUNCATED.labels(self.model).inc()
            LLM_CALLS.labels(kind, "context_truncated").inc()
            logger.warning(
                "the LLM server cut the prompt: %s tokens kept of ~%d sent (num_ctx %d)",
                finished.prompt_tokens,
                estimated,
                budget.context_tokens,
            )
            # The real prompt was at least the context: later estimates start from there.
            await self.calibration.observe(
                self.model, estimated=estimated, reported=budget.context_tokens
            )
            raise LLMPromptCut()
        if finished.prompt_tokens:
            await self.calibration.observe(
                self.model, estimated=estimated, reported=finished.prompt_tokens
            )
        if finished.reason == "length":
            LLM_CALLS.labels(kind, "output_cut").inc()
            raise LLMOutputCut()
        LLM_CALLS.labels(kind, "ok").inc()

    async def _timed(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        """``chunks`` under the first-token, between-tokens and total timeouts."""
        config = self.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.timeout_seconds
        first = True
        iterator = aiter(chunks)
        while True:
            wait = config.first_token_timeout_seconds if first else config.idle_timeout_seconds
            remaining = deadline - loop.time()
            which = "total" if remaining <= wait else ("first token" if first else "idle")
            try:
                async with asyncio.timeout(max(min(wait, remaining), 0.0)):
                    chunk = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                logger.warning("LLM timeout (%s) after %.1fs", which, min(wait, remaining))
                raise LLMTimeout() from exc
            first = False
            yield chunk

    def _record_usage(self, finished: Finished) -> None:
        LLM_TOKENS.labels("in", self.model).inc(finished.prompt_tokens or 0)
        LLM_TOKENS.labels("out", self.model).inc(finished.completion_tokens or 0)

    async def close(self) -> None:
        await self.provider.close()


async def _aclose(chunks: AsyncIterator[Chunk]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


def repair_conversation(
    messages: Sequence[Message], answer: str, repair: str, budget: Budget
) -> list[Message]:
    """The original messages, the invalid answer (cut to what fits) and the repair request,
    costed together: Ollama drops the oldest messages of a chat over ``num_ctx`` (the data first),
    so the repair turn must fit as a whole."""
    base = [*messages, {"role": "user", "content": repair}]
    quoted = answer[:REPAIR_ANSWER_CHARS]
    while quoted:
        conversation = [*messages, {"role": "assistant", "content": quoted}, base[-1]]
        if budget.cost([m["content"] for m in conversation]) <= budget.prompt_room:
            return conversation
        quoted = quoted[: len(quoted) // 2]
    return base


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema for OpenAI's strict mode, which wants every object closed and every
    property required: our output models have no defaults and forbid extras, so pydantic's schema
    already has that form (the sandbox's strict check refuses any other)."""
    return model.model_json_schema()


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_clients = per_loop(LLMClient)


def llm_client(config: EngineConfig) -> LLMClient:
    """The client of the running event loop for ``config`` (created on first use)."""
    return _clients.get(config)
