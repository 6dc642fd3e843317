"""OpenAI, and any OpenAI-compatible server (vLLM, llama.cpp, LiteLLM), through the ``openai`` SDK.

Why ``openai`` 2.x (2.54.0 pinned) and not 3.x: 2.x is built on ``httpx``, the HTTP stack of the
rest of jira-ai; 3.x depends on ``httpx2``, a second stack with its own pools and instrumentation.

``max_retries=0``: the SDK's retry resends a request that a server may have queued (Ollama's
``/v1`` answers nothing until a request's turn), and sleeps up to two minutes on a 429 inside an
interactive request. Our own retries are in the engine, where they are safe.

Vendor quirks handled here: gpt-5 and the o-series refuse any ``temperature`` but 1 (400
``unsupported_value``): learned once per model and remembered; output is capped with
``max_completion_tokens`` (they refuse ``max_tokens``), with room for reasoning tokens;
``insufficient_quota`` is no rate limit (no wait cures it); a rate limit's wait is read from
``retry-after(-ms)``, the ``x-ratelimit-reset-*`` headers or "Please try again in 8.64s".
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI

from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMInvalidOutput,
    LLMModelMissing,
    LLMQuotaExhausted,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from ai_service.engine.providers.base import (
    DEFAULT_RETRY_AFTER_SECONDS,
    TEMPERATURE,
    ChatCall,
    Chunk,
    Finished,
    ModelInfo,
    Piece,
    Thinking,
)
from core.http import retry_after_parse
from core.sse import sse_read

logger = logging.getLogger(__name__)

# Reasoning models spend hidden tokens before the answer, counted in max_completion_tokens.
REASONING_ROOM_TOKENS = 4_096
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
# Models that refused ``temperature`` (per process; the first refusal costs one extra 400).
_NO_TEMPERATURE: set[str] = set()


def reasoning_model(model: str) -> bool:
    name = model.lower()
    return name.startswith(("gpt-5", "o1", "o3", "o4"))


def _duration_seconds(value: str | None) -> float | None:
    """OpenAI's ``x-ratelimit-reset-*`` durations: ``12ms``, ``6m0s``, ``1.5s``."""
    if not value:
        return None
    parts = _DURATION.findall(value.strip())
    if not parts:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[unit] for n, unit in parts)


def rate_limit_wait(response: httpx.Response | None, message: str) -> int:
    """Seconds to wait before a retry can succeed, from whatever the vendor said."""
    headers = response.headers if response is not None else httpx.Headers()
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(1, math.ceil(float(milliseconds) / 1000))
        except ValueError:
            pass
    seconds = retry_after_parse(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    match = _TRY_AGAIN.search(message)
    if match:
        value = float(match.group(1)) / (1000 if match.group(2).lower() == "ms" else 1)
        return max(1, math.ceil(value))
    reset = _duration_seconds(headers.get("x-ratelimit-reset-tokens")) or _duration_seconds(
        headers.get("x-ratelimit-reset-requests")
    )
    if reset is not None:
        return max(1, math.ceil(reset))
    return DEFAULT_RETRY_AFTER_SECONDS


def _body_error(body: object) -> dict[str, Any]:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def openai_error(exc: Exception, *, model: str) -> EngineError:
    """SDK and transport failures as ours (the vendor's message is only logged)."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return LLMTimeout()
    if isinstance(exc, openai.APIStatusError):
        error = _body_error(exc.body)
        code, message = error.get("code"), str(error.get("message") or "")
        logger.warning("OpenAI answered %d (%s): %s", exc.status_code, code, message[:300])
        if exc.status_code == 429 and (
            code == "insufficient_quota" or error.get("type") == "insufficient_quota"
        ):
            return LLMQuotaExhausted()
        if exc.status_code == 429:
            return LLMRateLimited(retry_after=rate_limit_wait(exc.response, message))
        if exc.status_code == 404:
            return LLMModelMissing(model, provider="openai")
        failed = LLMUnavailable()
        # 503 is a server that is full (Ollama's /v1 queue): not retried at once.
        failed.retryable = exc.status_code >= 500 and exc.status_code != 503
        return failed
    if isinstance(exc, openai.APIError | httpx.HTTPError):
        logger.warning("OpenAI unreachable (%s)", type(exc).__name__)
        return LLMUnavailable()
    if isinstance(exc, ValueError):
        return LLMInvalidOutput()
    raise exc


def _refuses_temperature(exc: openai.APIStatusError) -> bool:
    error = _body_error(exc.body)
    return (
        exc.status_code == 400
        and error.get("param") == "temperature"
        and error.get("code") in ("unsupported_value", "unsupported_parameter")
    )


class OpenAIProvider:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.model = config.openai_model
        connections = max(config.max_streams, 1) + 16
        timeout = httpx.Timeout(
            max(config.first_token_timeout_seconds, config.timeout_seconds) + 5,
            connect=config.connect_timeout_seconds,
            pool=config.connect_timeout_seconds,
        )
        http_client = openai.DefaultAsyncHttpxClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=min(connections, 200)
            ),
            follow_redirects=False,
        )
        self._client = AsyncOpenAI(
            api_key=config.openai_api_key or "unset",
            base_url=config.base_url,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed()

    def _params(self, call: ChatCall) -> dict[str, Any]:
        room = call.max_output_tokens
        if reasoning_model(self.model):
            room += REASONING_ROOM_TOKENS
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in call.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": room,
        }
        if self.model not in _NO_TEMPERATURE:
            params["temperature"] = TEMPERATURE
        if call.schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": call.schema_name or "answer",
                    "strict": True,
                    "schema": call.schema,
                },
            }
        return params

    async def stream(self, call: ChatCall) -> AsyncIterator[Chunk]:
        """The SDK sends the request (its status errors); the chunks are read from the raw
        response: the SDK's pydantic chunk objects cost ~65 us each, ``json.loads`` a few."""
        try:
            for attempt in (1, 2):
                try:
                    request = self._client.chat.completions.with_streaming_response.create(
                        **self._params(call)
                    )
                    async with request as response:
                        async for chunk in self._chunks(response.http_response):
                            yield chunk
                    return
                except openai.BadRequestError as exc:
                    if attempt == 1 and _refuses_temperature(exc):
                        # Refused before any work: resending without it is safe.
                        logger.info(
                            "%s refuses temperature: sent without it from now on", self.model
                        )
                        _NO_TEMPERATURE.add(self.model)
                        continue
                    raise
        except (openai.APIError, httpx.HTTPError, ValueError) as exc:
            raise openai_error(exc, model=self.model) from exc
        except (AttributeError, TypeError, IndexError, KeyError) as exc:
            raise LLMInvalidOutput() from exc

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[Chunk]:
        reason: str | None = None
        usage: dict[str, Any] | None = None
        async for event in sse_read(response):
            if event.data.startswith("[DONE]"):
                break
            chunk = json.loads(event.data)
            if chunk.get("error"):
                # The vendor's error inside a 200 stream.
                raise LLMUnavailable()
            if chunk.get("usage") is not None:
                usage = chunk["usage"]
            if not chunk.get("choices"):
                continue
            choice = chunk["choices"][0]
            delta = choice.get("delta") or {}
            # Ollama's /v1 says "reasoning", vLLM and DeepSeek "reasoning_content".
            thinking = delta.get("reasoning") or delta.get("reasoning_content")
            if thinking:
                yield Thinking(len(thinking))
            content = delta.get("content")
            if content:
                yield Piece(content)
            if choice.get("finish_reason"):
                reason = choice["finish_reason"]
        if reason is None:
            # The connection ended without a finish chunk: the answer is cut, not complete.
            raise LLMUnavailable("The language model's stream ended early.")
        yield Finished(
            reason="length" if reason == "length" else "stop",
            prompt_tokens=(usage or {}).get("prompt_tokens"),
            completion_tokens=(usage or {}).get("completion_tokens"),
        )

    async def model_info(self) -> ModelInfo:
        # The list, not ``models/{id}``: every OpenAI-compatible server serves the list.
        try:
            page = await self._client.models.list()
        except (openai.APIError, httpx.HTTPError) as exc:
            raise openai_error(exc, model=self.model) from exc
        names = {m.id for m in page.data}
        return ModelInfo(present=self.model in names, thinking=reasoning_model(self.model))

    async def loaded(self, context_tokens: int | None = None) -> bool | None:
        return None

    async def close(self) -> None:
        await self._client.close()
