"""Ollama through its native API (``/api/chat``, NDJSON), over httpx.

Not ``/v1``: Ollama's OpenAI-compatible endpoint has no ``options``, so it cannot set ``num_ctx``,
and a stock server (4,096 tokens of context without a 24 GiB GPU) keeps only the first 5 tokens
and the tail of a longer prompt, answering 200 as if nothing happened. Natively every request
sets ``num_ctx`` (one value per model: a change makes Ollama reload it), ``num_predict``,
``temperature``, ``format`` (the JSON schema), ``keep_alive`` and ``think``.

Capabilities come from the server: ``/api/show`` (the model is pulled; its context length in
``model_info["<arch>.context_length"]``; ``capabilities`` lists ``thinking``) and ``/api/ps``
(the model is loaded now, so no load delay is coming).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMInvalidOutput,
    LLMModelMissing,
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
from core.http import build_async_client, retry_after_parse

logger = logging.getLogger(__name__)

BUSY_RETRY_AFTER_SECONDS = 10
# /api/show and /api/ps answer in milliseconds from a live server (metadata, the scheduler's
# state), even while it generates. A frozen one answers neither: without a bound of their own
# they would wait out the chat's read timeout (the first-token allowance, 300 s by default) before
# the chat's own timeout, so a hung server would cost two timeouts. Bounded by half the call's
# timeout, so metadata plus the chat stay within one and a half.
METADATA_TIMEOUT_SECONDS = 5.0


def _think_value(config: EngineConfig) -> bool | str:
    """gpt-oss only takes levels (``false`` is ignored, it always reasons): the lowest."""
    if config.model.lower().startswith("gpt-oss"):
        return config.think if isinstance(config.think, str) and config.think else "low"
    return config.think


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else ""


def ollama_error(status: int, message: str, *, model: str, headers: httpx.Headers) -> EngineError:
    """An Ollama error answer as ours; the server's text is logged, never shown."""
    logger.warning("Ollama answered %d: %s", status, message[:300])
    lowered = message.lower()
    if status == 404 or ("not found" in lowered and "pull" in lowered):
        return LLMModelMissing(model)
    if "server busy" in lowered:
        # OLLAMA_MAX_QUEUE is full: the server says so, it is not down.
        seconds = retry_after_parse(headers.get("retry-after"))
        return LLMRateLimited(
            "The Ollama server's queue is full; retry shortly.",
            retry_after=BUSY_RETRY_AFTER_SECONDS if seconds is None else seconds,
        )
    if status == 429:
        seconds = retry_after_parse(headers.get("retry-after"))
        return LLMRateLimited(
            retry_after=DEFAULT_RETRY_AFTER_SECONDS if seconds is None else seconds
        )
    # A proxy in front of Ollama (or a server going away) may say when to come back.
    seconds = retry_after_parse(headers.get("retry-after"))
    if "runner has unexpectedly stopped" in lowered or "system memory" in lowered:
        error = LLMUnavailable(
            "The Ollama model runner stopped (often out of memory); see the Ollama server logs.",
            retry_after=seconds,
        )
    else:
        error = LLMUnavailable(retry_after=seconds)
    # A 503 is a server that is full or going away: not sent again at once.
    error.retryable = status >= 500 and status != 503
    return error


class OllamaProvider:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.model = config.ollama_model
        connections = max(config.max_streams, 1) + 16
        # Reads are bounded by the engine (first token, idle, total), not by httpx.
        self._client = build_async_client(
            base_url=config.base_url,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=max(config.first_token_timeout_seconds, config.timeout_seconds) + 5,
            pool_timeout=config.connect_timeout_seconds,
            max_connections=connections,
        )

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed

    def _metadata_timeout(self) -> httpx.Timeout:
        read = min(METADATA_TIMEOUT_SECONDS, self.config.timeout_seconds / 2)
        return httpx.Timeout(read, connect=self.config.connect_timeout_seconds)

    def _body(self, call: ChatCall) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in call.messages],
            "stream": True,
            "keep_alive": self.config.keep_alive,
            "think": _think_value(self.config),
            "options": {
                "num_ctx": call.context_tokens,
                "num_predict": call.max_output_tokens,
                "temperature": TEMPERATURE,
            },
        }
        if call.schema is not None:
            body["format"] = call.schema
        return body

    async def stream(self, call: ChatCall) -> AsyncIterator[Chunk]:
        try:
            async with self._client.stream("POST", "/api/chat", json=self._body(call)) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ollama_error(
                        response.status_code,
                        _error_text(response),
                        model=self.model,
                        headers=response.headers,
                    )
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    chunk = json.loads(line)
                    if not isinstance(chunk, dict):
                        raise LLMInvalidOutput()
                    if chunk.get("error"):
                        # Mid-stream: Ollama keeps its 200 and reports the failure as a line.
                        raise ollama_error(
                            500, str(chunk["error"]), model=self.model, headers=response.headers
                        )
                    message = chunk.get("message") or {}
                    thinking = message.get("thinking")
                    if thinking:
                        yield Thinking(len(thinking))
                    content = message.get("content")
                    if content:
                        yield Piece(content)
                    if chunk.get("done"):
                        yield Finished(
                            reason="length" if chunk.get("done_reason") == "length" else "stop",
                            prompt_tokens=chunk.get("prompt_eval_count"),
                            completion_tokens=chunk.get("eval_count"),
                        )
                        return
        except httpx.TimeoutException as exc:
            raise LLMTimeout() from exc
        except httpx.HTTPError as exc:
            logger.warning("Ollama unreachable or cut (%s)", type(exc).__name__)
            raise LLMUnavailable() from exc
        except ValueError as exc:  # a line that is not JSON
            raise LLMInvalidOutput() from exc
        # The body ended without its ``done`` line: the answer is cut, not complete.
        raise LLMUnavailable("The language model's stream ended early.")

    async def model_info(self) -> ModelInfo:
        try:
            response = await self._client.post(
                "/api/show", json={"model": self.model}, timeout=self._metadata_timeout()
            )
        except httpx.TimeoutException as exc:
            raise LLMTimeout() from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable() from exc
        if response.status_code == 404:
            if "not found" in _error_text(response).lower():
                return ModelInfo(present=False)
            # No /api/show on this server (not Ollama's own): nothing discovered, nothing denied.
            return ModelInfo(present=True, loaded=await self._loaded())
        if response.status_code != 200:
            raise ollama_error(
                response.status_code,
                _error_text(response),
                model=self.model,
                headers=response.headers,
            )
        body = response.json()
        info = body.get("model_info") or {}
        arch = info.get("general.architecture")
        context = info.get(f"{arch}.context_length") if arch else None
        if context is None:  # an architecture name we did not expect
            context = next((v for k, v in info.items() if k.endswith(".context_length")), None)
        capabilities = body.get("capabilities") or []
        return ModelInfo(
            present=True,
            context_tokens=int(context) if isinstance(context, int | float) else None,
            thinking="thinking" in capabilities,
            loaded=await self._loaded(),
        )

    async def _loaded(self, context_tokens: int | None = None) -> bool | None:
        """In memory now, with this context (another ``num_ctx`` means a reload)."""
        try:
            response = await self._client.get("/api/ps", timeout=self._metadata_timeout())
            if response.status_code != 200:
                return None
            models = response.json().get("models") or []
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        names = {self.model, f"{self.model}:latest"}
        for found in models:
            if found.get("name") in names or found.get("model") in names:
                allocated = found.get("context_length")
                return context_tokens is None or allocated in (None, context_tokens)
        return False

    async def loaded(self, context_tokens: int | None = None) -> bool | None:
        return await self._loaded(context_tokens)

    async def close(self) -> None:
        await self._client.aclose()
