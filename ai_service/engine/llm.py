"""One LLM client over the ``openai`` SDK, for Ollama (its ``/v1`` endpoint) and OpenAI alike.

Why ``openai`` 2.x (2.54.0 pinned) and not 3.x: 2.x is built on ``httpx``, the HTTP stack of the
rest of jira-ai (the Jira client, the ai-service client, OpenTelemetry's httpx instrumentation);
3.x depends on ``httpx2``, a second HTTP stack with its own pools, its own instrumentation and
lower-case header names. One stack means one way to size pools, time out and trace.

One ``AsyncOpenAI`` per event loop (and configuration): httpx connections belong to the loop that
opened them, so a client must not be shared across loops (tests run several).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMInvalidOutput,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from ai_service.engine.metrics import LLM_CALLS, LLM_TOKENS
from core.http import per_loop, retry_after_parse
from core.sse import sse_read

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Message = ChatCompletionMessageParam
# Each streamed analysis runs one prompt per section at once.
CONNECTIONS_PER_STREAM = 4
DEFAULT_RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def _no_retry_on_429(response: httpx.Response) -> None:
    """Hand a vendor rate limit back to the caller at once instead of letting the SDK sleep up to
    its ``Retry-After`` (two minutes in 2.x) inside an interactive request: ``x-should-retry`` is
    the header the SDK documents for exactly this decision."""
    if response.status_code == 429:
        response.headers["x-should-retry"] = "false"


def _retry_after(response: httpx.Response | None) -> int:
    """The vendor's ``Retry-After``, else (absent or absurd) our default wait."""
    seconds = retry_after_parse(response.headers.get("retry-after")) if response else None
    return DEFAULT_RETRY_AFTER_SECONDS if seconds is None else seconds


def _engine_error(exc: Exception) -> EngineError:
    """Vendor and transport failures -> our typed errors (the vendor's text is only logged)."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return LLMTimeout()
    if isinstance(exc, openai.RateLimitError):
        return LLMRateLimited(retry_after=_retry_after(exc.response))
    if isinstance(exc, openai.APIError | httpx.HTTPError):
        return LLMUnavailable()
    if isinstance(exc, ValueError):  # a chunk that is not JSON
        return LLMInvalidOutput()
    raise exc


class LLMClient:
    """Chat completions with our timeouts, one SDK retry, typed errors and token metrics."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        connections = max(config.max_streams, 1) * CONNECTIONS_PER_STREAM + 16
        timeout = httpx.Timeout(
            config.timeout_seconds,
            connect=min(config.connect_timeout_seconds, config.timeout_seconds),
            # Waiting for a free connection is bounded by the same budget as the call itself.
            pool=config.timeout_seconds,
        )
        http_client = openai.DefaultAsyncHttpxClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=min(connections, 200)
            ),
            event_hooks={"response": [_no_retry_on_429]},
            follow_redirects=False,
        )
        self._client = AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=timeout,
            max_retries=1,
            http_client=http_client,
        )

    @property
    def model(self) -> str:
        return self.config.model

    def _record_usage(self, usage: Any) -> Usage:
        if usage is None:
            return Usage()
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        else:
            prompt, completion = usage.prompt_tokens, usage.completion_tokens
        result = Usage(int(prompt or 0), int(completion or 0))
        LLM_TOKENS.labels("in", self.model).inc(result.prompt_tokens)
        LLM_TOKENS.labels("out", self.model).inc(result.completion_tokens)
        return result

    async def complete_json(
        self, *, messages: Sequence[Message], output: type[T], schema_name: str, repair: str
    ) -> T:
        """A JSON answer requested with ``output``'s schema (``response_format`` json_schema,
        strict), validated; one repair turn (``repair``, the user message that asks for it) if
        the answer is invalid, then ``LLMInvalidOutput``."""
        schema = strict_schema(output)
        conversation = list(messages)
        for attempt in (1, 2):
            content = await self._complete(conversation, schema=schema, name=schema_name)
            try:
                return output.model_validate_json(content)
            except ValidationError as exc:
                logger.warning(
                    "invalid JSON from the LLM (attempt %d, %d errors)", attempt, exc.error_count()
                )
                problem = "; ".join(
                    f"{'/'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                    for e in exc.errors()[:5]
                )
                conversation = [
                    *messages,
                    {"role": "assistant", "content": content[:4000]},
                    {"role": "user", "content": repair.replace("$problem", problem[:500])},
                ]
        LLM_CALLS.labels("json", LLMInvalidOutput.code).inc()
        raise LLMInvalidOutput()

    async def _complete(
        self, messages: Sequence[Message], *, schema: dict[str, Any], name: str
    ) -> str:
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),
                temperature=0.2,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": name, "strict": True, "schema": schema},
                },
            )
        except (openai.APIResponseValidationError, ValueError) as exc:
            # An envelope that is not JSON: as invalid as bad content, so it gets the repair turn.
            logger.warning("unparsable LLM response (%s)", type(exc).__name__)
            return ""
        except (openai.APIError, httpx.HTTPError) as exc:
            error = _engine_error(exc)
            LLM_CALLS.labels("json", error.code).inc()
            logger.warning("LLM call failed: %s (%s)", error.code, type(exc).__name__)
            raise error from exc
        self._record_usage(completion.usage)
        LLM_CALLS.labels("json", "ok").inc()
        if not completion.choices:
            return ""
        return completion.choices[0].message.content or ""

    async def stream_text(self, *, messages: Sequence[Message]) -> AsyncGenerator[str, None]:
        """Text as the model writes it. Closing this generator (or cancelling its consumer)
        closes the upstream HTTP response, so the LLM server sees the client leave.

        The SDK sends the request (its retries, its status errors); the chunks are read from the
        raw response: the SDK's stream builds a pydantic ``ChatCompletionChunk`` per chunk (about
        65 us per chunk measured here, against a few us for ``sse_read`` and ``json.loads``), and a
        streamed analysis reads four chunks per token step, for the three fields read here."""
        finished = False
        try:
            async with self._client.chat.completions.with_streaming_response.create(
                model=self.model,
                messages=list(messages),
                temperature=0.2,
                stream=True,
                stream_options={"include_usage": True},
            ) as response:
                async for event in sse_read(response.http_response):
                    if event.data.startswith("[DONE]"):
                        break
                    chunk = json.loads(event.data)
                    if chunk.get("error"):
                        # The vendor's error inside a 200 stream (as the SDK reads it).
                        raise LLMUnavailable()
                    if chunk.get("usage") is not None:
                        self._record_usage(chunk["usage"])
                    if not chunk.get("choices"):
                        continue
                    choice = chunk["choices"][0]
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield content
                    if choice.get("finish_reason"):
                        finished = True
        except (EngineError, openai.APIError, httpx.HTTPError, ValueError) as exc:
            error = _engine_error(exc)
            LLM_CALLS.labels("stream", error.code).inc()
            logger.warning("LLM stream failed: %s (%s)", error.code, type(exc).__name__)
            raise error from exc
        except (AttributeError, TypeError, IndexError) as exc:
            # JSON, but not shaped like a chunk.
            LLM_CALLS.labels("stream", LLMInvalidOutput.code).inc()
            logger.warning("LLM stream failed: %s (%s)", LLMInvalidOutput.code, type(exc).__name__)
            raise LLMInvalidOutput() from exc
        if not finished:
            # The connection ended without a finish chunk: the answer is cut, not complete.
            LLM_CALLS.labels("stream", LLMUnavailable.code).inc()
            raise LLMUnavailable("The language model's stream ended early.")
        LLM_CALLS.labels("stream", "ok").inc()

    async def close(self) -> None:
        await self._client.close()


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema for OpenAI's strict mode, which wants every object closed and every
    property required: our output models have no defaults and forbid extras, so pydantic's schema
    already has that form (the sandbox's strict check refuses any other)."""
    return model.model_json_schema()


_clients = per_loop(LLMClient)


def llm_client(config: EngineConfig) -> LLMClient:
    """The client of the running event loop for ``config`` (created on first use)."""
    return _clients.get(config)
