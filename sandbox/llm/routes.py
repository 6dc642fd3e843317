"""HTTP side of the LLM stand-in: OpenAI's chat completions, Ollama's ``/v1`` and ``/api/*``.

A request is parsed and validated in its dialect (OpenAI, Ollama's OpenAI-compatible ``/v1``,
Ollama's native ``/api/chat``), then served by its vendor:

* Ollama: it waits for a slot on its model's runner (FIFO, nothing sent meanwhile), the model is
  loaded if needed, the prompt is evaluated within the runner's context (too long: the oldest
  messages, then the front tokens, are cut, see :mod:`sandbox.llm.tokens`), which takes time in
  proportion to its tokens, and only then does the answer, built from what survived, start.
* OpenAI: bearer, quota and token-per-minute checks (:mod:`sandbox.llm.runtime`), then the answer.

The answer is built whole up front, cut into tokens (one per chunk), and sent at the configured
pace. A client that goes away before the end is counted once in ``counters["llm_cancelled"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from sandbox.core import STATE_KEY, SandboxState, apply_fault, state_of
from sandbox.llm import tokens
from sandbox.llm.answers import (
    broken_json,
    build_answer,
    strict_schema_problem,
    thoughts,
)
from sandbox.llm.models import (
    OLLAMA_MODELS,
    OPENAI_MODELS,
    ModelSpec,
    find_ollama,
    find_openai,
    is_openai_name,
    ollama_name,
)
from sandbox.llm.runtime import (
    FOREVER,
    QUOTA_MESSAGE,
    DurationError,
    OpenAILimits,
    QueueFull,
    RateLimitExceeded,
    Scheduler,
    keep_alive_seconds,
    server_keep_alive,
)

Dialect = Literal["openai", "ollama_v1", "native"]

SCHEMA_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MODELS_CREATED = 1_721_172_741  # a fixed "created" for /v1/models
MODIFIED_AT = "2025-07-23T10:12:41.5190021Z"  # when the sandbox's models were "pulled"
# Several chunks due within one tick share a write: at 200 tokens/s and hundreds of streams, one
# wake-up per token would cost more CPU than the whole test it serves.
BASE_TICK_SECONDS = 0.025
TICK_STREAMS = 100
CUT_GRACE_SECONDS = 5.0
RECEIVED_KEPT = 50


@dataclass
class StreamTiming:
    """When the sandbox wrote the pieces of one streamed answer, in ms after its generation began
    (after the queue, the load and the prompt evaluation): the pace as the sandbox kept it,
    whatever the client's load did to its reading."""

    pieces: int
    writes: int = 0
    first_write_ms: float | None = None
    last_write_ms: float | None = None


RUNNER_CRASH = (
    "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details"
)
OPENAI_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
# Thinking budgets, in tokens: Ollama's think levels (true is "medium"), OpenAI's reasoning efforts.
THINK_TOKENS = {"low": 128, "medium": 320, "high": 768, "max": 1536}
REASONING_TOKENS = {"minimal": 0, "low": 64, "medium": 192, "high": 512}


@dataclass
class LlmState:
    sandbox: SandboxState
    scheduler: Scheduler
    limits: OpenAILimits
    tokens_per_second: float | None = None
    first_token_ms: int | None = None
    load_ms: int | None = None
    prompt_tokens_per_second: float | None = None
    queue_max: int | None = None
    active: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # The chat requests received (the newest last), for tests that check what a prompt carried.
    received: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECEIVED_KEPT))
    last_stream: StreamTiming | None = None

    def pace(self) -> tuple[float, float]:
        """(tokens per second, first-token delay in seconds): runtime override or CLI values."""
        config = self.sandbox.config
        tps = self.tokens_per_second or config.llm_tokens_per_second
        first_ms = (
            self.first_token_ms if self.first_token_ms is not None else config.llm_first_token_ms
        )
        return max(tps, 0.001), max(first_ms, 0) / 1000

    def load_seconds(self) -> float:
        ms = self.load_ms if self.load_ms is not None else self.sandbox.config.ollama_load_ms
        return max(ms, 0) / 1000

    def prompt_seconds(self, prompt_tokens: int) -> float:
        rate = self.prompt_tokens_per_second or self.sandbox.config.ollama_prompt_tokens_per_second
        return prompt_tokens / max(rate, 0.001)

    def max_queue(self) -> int:
        if self.queue_max is not None:
            return self.queue_max
        return self.sandbox.config.ollama_queue_max

    def reset(self) -> None:
        self.tokens_per_second = None
        self.first_token_ms = None
        self.received.clear()
        self.last_stream = None
        self.load_ms = None
        self.prompt_tokens_per_second = None
        self.queue_max = None
        self.scheduler.reset()
        self.limits.reset()

    def tick(self) -> float:
        return BASE_TICK_SECONDS * max(1.0, self.active / TICK_STREAMS)


LLM_KEY = web.AppKey("sandbox_llm", LlmState)


class BadRequest(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind


@dataclass
class ChatRequest:
    dialect: Dialect
    spec: ModelSpec
    model: str  # as sent: echoed in every answer
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    json_mode: bool
    schema: dict[str, Any] | None
    max_tokens: int | None  # num_predict (Ollama) / max_completion_tokens or max_tokens (OpenAI)
    num_ctx: int | None = None  # native options.num_ctx (None: the server's context)
    keep_alive: float | None = None  # native only (None: the runner's)
    think: bool | str | None = None  # Ollama: None = the model's default
    reasoning_effort: str | None = None  # OpenAI reasoning models
    api_key: str = ""

    @property
    def vendor(self) -> str:
        return self.spec.vendor


@dataclass
class Plan:
    """The answer as tokens: thinking (sent in its own field), hidden reasoning (OpenAI: counted,
    never sent), content; with the finish reason and the prompt tokens evaluated."""

    thinking: list[str]
    hidden: int
    content: list[str]
    finish_reason: str
    prompt_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def thinking_text(self) -> str:
        return "".join(self.thinking)

    @property
    def completion_tokens(self) -> int:
        return len(self.thinking) + self.hidden + len(self.content)


@dataclass
class Outcome:
    """Per-request bookkeeping: was the connection cut by us (a fault) rather than the client."""

    cut_by_us: bool = False
    counted: bool = False


@dataclass
class Timing:
    """Loop times of a request's steps (Ollama's metrics are built from them)."""

    arrival: float
    queued: float = 0.0
    ready: float = 0.0
    prompt_seconds: float = 0.0
    generation: float = 0.0


# -- vendor error bodies -----------------------------------------------------------------------


def openai_error_body(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    if kind is None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        if status == 429:
            kind = "requests"
            code = code or "rate_limit_exceeded"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openai_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = openai_error_body(status, message, param=param, code=code, kind=kind)
    return web.json_response(body, status=status, headers=headers)


def ollama_v1_error_body(status: int, message: str) -> dict[str, Any]:
    """Ollama's ``openai.NewError``: the type follows the status, param and code are null."""
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def ollama_error(status: int, message: str, dialect: Dialect = "native") -> web.Response:
    if dialect == "ollama_v1":
        return web.json_response(ollama_v1_error_body(status, message), status=status)
    return web.json_response({"error": message}, status=status)


def bad_request_response(exc: BadRequest, dialect: Dialect) -> web.Response:
    if dialect == "openai":
        return openai_error(exc.status, exc.message, param=exc.param, code=exc.code, kind=exc.kind)
    return ollama_error(exc.status, exc.message, dialect)


def openai_fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        message = "Rate limit reached for requests (sandbox fault). Please try again later."
    elif status >= 500:
        message = "The server had an error while processing your request (sandbox fault)."
    else:
        message = f"Request refused with status {status} (sandbox fault)."
    return openai_error_body(status, message)


def ollama_fault_message(status: int) -> str:
    if status == 429:
        return "too many requests (sandbox fault)"
    return f"an error was encountered while running the model (sandbox fault {status})"


def fault_body(dialect: Dialect) -> Callable[[int], Any]:
    if dialect == "openai":
        return openai_fault_body
    if dialect == "ollama_v1":
        return lambda status: ollama_v1_error_body(status, ollama_fault_message(status))
    return lambda status: {"error": ollama_fault_message(status)}


# -- parsing -----------------------------------------------------------------------------------


def _messages(raw: Any, *, allow_empty: bool) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise BadRequest(400, "'messages' must be a non-empty array.", param="messages")
    for i, message in enumerate(raw):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(400, f"Invalid 'messages[{i}]': a role is required.", param="messages")
    return [{**m, "role": m["role"].lower()} for m in raw]


def _positive_int(value: Any, param: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(400, f"Invalid '{param}': expected an integer >= 1.", param=param)
    return value


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise BadRequest(400, "missing request body")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(400, f"We could not parse the JSON body of your request: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest(400, "The request body must be a JSON object.")
    return body


def _number_text(value: Any) -> str:
    return json.dumps(value)


def parse_openai(body: dict[str, Any], spec: ModelSpec) -> ChatRequest:
    """OpenAI's own checks, including those of its reasoning models (gpt-5*, o-series)."""
    messages = _messages(body.get("messages"), allow_empty=False)
    stream = body.get("stream") is True
    options = body.get("stream_options")
    if options is not None and not stream:
        raise BadRequest(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise BadRequest(
            400, "Invalid 'temperature': expected a number in [0, 2].", param="temperature"
        )
    if spec.reasoning and temperature is not None and temperature != 1:
        raise BadRequest(
            400,
            f"Unsupported value: 'temperature' does not support {_number_text(temperature)} with "
            "this model. Only the default (1) value is supported.",
            param="temperature",
            code="unsupported_value",
        )
    if spec.reasoning and body.get("max_tokens") is not None:
        raise BadRequest(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    max_tokens = _positive_int(body.get("max_completion_tokens"), "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _positive_int(body.get("max_tokens"), "max_tokens")
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not spec.reasoning:
            raise BadRequest(
                400,
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                param="reasoning_effort",
                code="unsupported_parameter",
            )
        if effort not in REASONING_TOKENS:
            raise BadRequest(
                400,
                f"Invalid value: {json.dumps(effort)}. Supported values are: 'minimal', 'low', "
                "'medium', and 'high'.",
                param="reasoning_effort",
                code="invalid_value",
            )
    json_mode, schema = False, None
    response_format = body.get("response_format")
    if response_format is not None:
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            raise BadRequest(
                400,
                "Invalid 'response_format.type': expected 'text', 'json_object' or 'json_schema'.",
                param="response_format",
            )
        assert isinstance(response_format, dict)
        json_mode = kind != "text"
        if kind == "json_schema":
            spec_ = response_format.get("json_schema")
            if not isinstance(spec_, dict) or not isinstance(spec_.get("name"), str):
                raise BadRequest(
                    400,
                    "Missing required parameter: 'response_format.json_schema.name'.",
                    param="response_format.json_schema.name",
                    code="missing_required_parameter",
                )
            if not SCHEMA_NAME_RE.match(spec_["name"]):
                raise BadRequest(
                    400,
                    "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.",
                    param="response_format.json_schema.name",
                )
            schema = spec_.get("schema")
            if schema is not None and not isinstance(schema, dict):
                raise BadRequest(
                    400, "Invalid schema: expected an object.", param="response_format"
                )
            if schema is not None and spec_.get("strict") is True:
                problem = strict_schema_problem(schema)
                if problem:
                    raise BadRequest(
                        400,
                        f"Invalid schema for response_format '{spec_['name']}': {problem}",
                        param="response_format",
                        code="invalid_json_schema",
                    )
    return ChatRequest(
        dialect="openai",
        spec=spec,
        model=str(body["model"]),
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        json_mode=json_mode,
        schema=schema,
        max_tokens=max_tokens,
        reasoning_effort=effort if spec.reasoning else None,
    )


def _think_from_effort(effort: Any) -> bool | str | None:
    """Ollama's ``thinkFromReasoningEffort`` (openai/openai.go)."""
    if effort in (None, ""):
        return None
    if effort == "none":
        return False
    if effort == "minimal":
        return "low"
    if effort in ("low", "medium", "high", "max"):
        return str(effort)
    if effort in ("xhigh", "ultra"):
        return "max"
    raise BadRequest(
        400,
        f'invalid reasoning value: {json.dumps(effort)} (must be "minimal", "low", '
        '"medium", "high", "xhigh", "ultra", "max", or "none")',
    )


def _format(fmt: Any) -> tuple[bool, dict[str, Any] | None]:
    if fmt in (None, ""):
        return False, None
    if fmt == "json":
        return True, None
    if isinstance(fmt, dict):
        return True, fmt
    raise BadRequest(400, f"invalid format: {json.dumps(fmt)}")


def parse_ollama_v1(body: dict[str, Any], spec: ModelSpec) -> ChatRequest:
    """What Ollama's ``/v1`` reads (``openai.ChatCompletionRequest``): unknown fields such as
    ``options``, ``num_ctx``, ``keep_alive``, ``think`` or ``max_completion_tokens`` are dropped."""
    raw = body.get("messages")
    if isinstance(raw, list) and not raw:
        raise BadRequest(400, "[] is too short - 'messages'")
    messages = _messages(raw, allow_empty=False)
    stream = body.get("stream") is True
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    max_tokens = body.get("max_tokens")
    num_predict = (
        max_tokens
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0
        else None
    )
    json_mode, schema = False, None
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = str(response_format.get("type", "")).strip().lower()
        if kind == "json_object":
            json_mode = True
        elif kind == "json_schema":
            spec_ = response_format.get("json_schema")
            if isinstance(spec_, dict) and spec_.get("schema") is not None:
                json_mode, schema = _format(spec_["schema"])
    reasoning = body.get("reasoning")
    effort = (
        reasoning.get("effort") if isinstance(reasoning, dict) else body.get("reasoning_effort")
    )
    return ChatRequest(
        dialect="ollama_v1",
        spec=spec,
        model=str(body["model"]),
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        json_mode=json_mode,
        schema=schema,
        max_tokens=num_predict,
        think=_think_from_effort(effort),
    )


def _int_option(options: dict[str, Any], key: str) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        # Ollama's Options.FromMap, reported through the scheduler as a 500.
        raise BadRequest(500, f"option {json.dumps(key)} must be of type integer")
    return int(value)


def parse_native(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(400, "model is required")
    return model, body


def native_request(body: dict[str, Any], spec: ModelSpec, default_ctx: int) -> ChatRequest:
    messages = _messages(body.get("messages") or [], allow_empty=True)
    stream = body.get("stream", True) is not False
    json_mode, schema = _format(body.get("format"))
    think = body.get("think")
    if think is not None and not isinstance(think, bool):
        if not isinstance(think, str):
            raise BadRequest(
                400,
                'think must be a boolean or string ("high", "medium", "low", "max", true, or '
                "false)",
            )
        if think not in THINK_TOKENS:
            raise BadRequest(
                400,
                f'invalid think value: {json.dumps(think)} (must be "high", "medium", '
                '"low", "max", true, or false)',
            )
    keep_alive = None
    if body.get("keep_alive") is not None:
        try:
            keep_alive = keep_alive_seconds(body["keep_alive"])
        except DurationError as exc:
            raise BadRequest(400, str(exc)) from exc
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest(
            400,
            "json: cannot unmarshal "
            f"{type(options).__name__} into Go struct field ChatRequest.options of type "
            "map[string]interface {}",
        )
    num_ctx = _int_option(options, "num_ctx")
    num_predict = _int_option(options, "num_predict")
    temperature = options.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise BadRequest(500, 'option "temperature" must be of type float32')
    # The runner's context: the request's num_ctx (at least 4) or the server's, never more than
    # the model was trained for (llm/server.go: "requested context size too large for model").
    ctx = default_ctx if num_ctx is None or num_ctx <= 0 else max(num_ctx, 4)
    return ChatRequest(
        dialect="native",
        spec=spec,
        model=str(body["model"]),
        messages=messages,
        stream=stream,
        include_usage=False,
        json_mode=json_mode,
        schema=schema,
        max_tokens=num_predict if num_predict is not None and num_predict > 0 else None,
        num_ctx=min(ctx, spec.context_length),
        keep_alive=keep_alive,
        think=think,
    )


def check_think(chat: ChatRequest) -> bool | str:
    """The thinking a request gets from an Ollama model: False, or its level. A model without the
    "thinking" capability refuses ``think`` (400); a thinking one thinks unless told not to."""
    spec = chat.spec
    wanted = chat.think
    if "thinking" in spec.capabilities:
        if wanted is None or wanted is True:
            return "medium"
        return wanted
    if wanted is not None and wanted is not False:
        raise BadRequest(400, f'"{chat.model}" does not support thinking')
    return "medium" if spec.thinking == "tags" else False


# -- planning ----------------------------------------------------------------------------------


def make_plan(chat: ChatRequest, evaluated: tokens.Evaluated, think: bool | str) -> Plan:
    family = chat.spec.tokenizer
    answer = build_answer(
        evaluated.messages,
        json_mode=chat.json_mode,
        schema=chat.schema,
        cut=evaluated.truncated,
        behaviour=chat.spec.behaviour,
    )
    thinking: list[str] = []
    if think:
        budget = THINK_TOKENS[str(think)]
        text = thoughts(evaluated.messages, cut=evaluated.truncated, chars=budget * 6)
        thinking = tokens.tokenize(text, family)[:budget]
        while thinking and not thinking[-1].strip():
            thinking.pop()
    content_text = answer.content
    if chat.spec.thinking == "tags" and thinking:
        content_text = f"<think>\n{''.join(thinking)}\n</think>\n\n{content_text}"
        thinking = []
    hidden = 0
    if chat.spec.thinking == "hidden":
        hidden = REASONING_TOKENS[chat.reasoning_effort or "medium"]
    content = tokens.tokenize(content_text, family)
    finish = "stop"
    cap = chat.max_tokens
    if cap is not None and len(thinking) + hidden + len(content) > cap:
        # Thinking comes first, then the content: a small cap can leave no content at all.
        thinking = thinking[:cap]
        hidden = min(hidden, cap - len(thinking))
        content = content[: cap - len(thinking) - hidden]
        finish = "length"
    return Plan(
        thinking=thinking,
        hidden=hidden,
        content=content,
        finish_reason=finish,
        prompt_tokens=evaluated.prompt_tokens,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _broken_line(line: bytes) -> bytes:
    """One wire line cut in the middle: not valid JSON."""
    text = line.rstrip(b"\n")
    return (
        text[: max(len(b"data: {"), len(text) // 2)] + b"\n" + (b"\n" if b"data: " in text else b"")
    )


# -- sending -----------------------------------------------------------------------------------


@dataclass
class Events:
    """Wire events, each with the index of the generated token it carries (its due time is
    ``base + index / tokens per second``), and what ends the body."""

    items: list[tuple[int, bytes]]
    trailer: bytes
    last_index: int  # index of the last generated token (hidden reasoning included)


async def _paced_write(
    request: web.Request,
    prepare: Callable[[], Awaitable[web.StreamResponse]],
    items: list[tuple[int, bytes]],
    final: bytes | None,
    base: float,
) -> web.StreamResponse:
    """Write ``items`` at their due times; headers go out with the first write (a stream sends
    nothing before its first token)."""
    llm = request.app[LLM_KEY]
    tps, first = llm.pace()
    loop = asyncio.get_running_loop()
    resp: web.StreamResponse | None = None
    i, n = 0, len(items)
    timing = llm.last_stream = StreamTiming(pieces=n)
    generation = base - first
    while i < n:
        due = base + items[i][0] / tps
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
            now = loop.time()
        horizon = now + llm.tick()
        j = i + 1
        while j < n and base + items[j][0] / tps <= horizon:
            j += 1
        batch = b"".join(item for _, item in items[i:j])
        if j == n and final is not None:
            batch += final
        if resp is None:
            resp = await prepare()
        await resp.write(batch)
        written_ms = (loop.time() - generation) * 1000
        if timing.first_write_ms is None:
            timing.first_write_ms = written_ms
        timing.last_write_ms = written_ms
        timing.writes += 1
        i = j
    if resp is None:
        resp = await prepare()
        if final is not None:
            await resp.write(final)
    return resp


async def _cut_connection(request: web.Request, outcome: Outcome) -> None:
    """Close the socket without ending the body (no last chunk), as a crashed upstream would."""
    outcome.cut_by_us = True
    transport = request.transport
    if transport is not None:
        transport.close()
    # handler_cancellation: the lost connection cancels this handler; the grace is a safety net.
    await asyncio.sleep(CUT_GRACE_SECONDS)
    raise ConnectionResetError("connection cut by a cut_stream fault")


async def _send_whole(
    request: web.Request,
    body: bytes,
    *,
    cut: bool,
    outcome: Outcome,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    content_type = "application/json"
    if not cut:
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)
    resp = web.StreamResponse(status=200, headers=headers)
    resp.content_type = content_type
    resp.charset = "utf-8"
    resp.content_length = len(body)
    await resp.prepare(request)
    await resp.write(body[: len(body) // 2])
    await _cut_connection(request, outcome)
    return resp


async def _wait_until(due: float) -> None:
    delay = due - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def _stream_preparer(
    request: web.Request, content_type: str, headers: dict[str, str] | None = None
) -> Callable[[], Awaitable[web.StreamResponse]]:
    async def prepare() -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        if headers:
            resp.headers.update(headers)
        await resp.prepare(request)
        return resp

    return prepare


async def send_stream(
    request: web.Request,
    events: Events,
    *,
    mode: str | None,
    outcome: Outcome,
    base: float,
    content_type: str,
    headers: dict[str, str] | None = None,
    broken_end: bytes | None = None,
) -> web.StreamResponse:
    """Stream ``events``; faults: ``malformed`` breaks a line, ``cut_stream`` closes the socket
    halfway, ``stream_error`` ends halfway with ``broken_end`` and a clean end of body."""
    items = list(events.items)
    if mode == "malformed" and len(items) > 1:
        index, line = items[len(items) // 2]
        items[len(items) // 2] = (index, _broken_line(line))
    prepare = _stream_preparer(request, content_type, headers)
    if mode in ("cut_stream", "stream_error"):
        half = items[: max(1, len(items) // 2)]
        if mode == "stream_error":
            resp = await _paced_write(request, prepare, half, broken_end, base)
            await resp.write_eof()
            return resp
        resp = await _paced_write(request, prepare, half, broken_end, base)
        await _cut_connection(request, outcome)
    resp = await _paced_write(request, prepare, items, events.trailer, base)
    await resp.write_eof()
    return resp


# -- OpenAI wire ---------------------------------------------------------------------------------


def _openai_usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.hidden,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_body(chat: ChatRequest, plan: Plan, completion_id: str, mode: str | None) -> bytes:
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": broken_json(plan.text) if mode == "malformed" else plan.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": plan.finish_reason,
            }
        ],
        "usage": _openai_usage(plan),
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }
    return _dumps(body).encode()


def openai_events(chat: ChatRequest, plan: Plan, completion_id: str) -> Events:
    created = int(time.time())
    head = (
        f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_sandbox","choices":[{{"index":0,'
        '"delta":'
    )
    tail = ',"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    role = f'{head}{{"role":"assistant","content":"","refusal":null}}{tail}'.encode()
    start = plan.hidden
    items = [
        (start + i, f'{head}{{"content":{_dumps(tok)}}}{tail}'.encode())
        for i, tok in enumerate(plan.content)
    ]
    if items:
        items[0] = (items[0][0], role + items[0][1])
    else:
        items = [(start, role)]
    trailer = (
        f'{head}{{}},"logprobs":null,"finish_reason":"{plan.finish_reason}"}}],"usage":null}}\n\n'
    )
    if chat.include_usage:
        trailer += (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_sandbox","choices":[],'
            f'"usage":{_dumps(_openai_usage(plan))}}}\n\n'
        )
    trailer += "data: [DONE]\n\n"
    return Events(items, trailer.encode(), plan.completion_tokens - 1)


# -- Ollama wire --------------------------------------------------------------------------------


def _ollama_stats(plan: Plan, timing: Timing, now: float) -> dict[str, Any]:
    """Ollama's metrics (nanoseconds; a zero is left out, as Go's omitempty does)."""
    stats = {
        "total_duration": round((now - timing.arrival) * 1e9),
        "load_duration": max(round((timing.ready - timing.arrival - timing.queued) * 1e9), 1),
        "prompt_eval_count": plan.prompt_tokens,
        "prompt_eval_duration": max(round(timing.prompt_seconds * 1e9), 1),
        "eval_count": plan.completion_tokens,
        "eval_duration": max(round((now - timing.generation) * 1e9), 1),
    }
    return {k: v for k, v in stats.items() if v}


def native_message(content: str, thinking: str = "") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    return message


def native_events(chat: ChatRequest, plan: Plan, wall_base: float, tps: float) -> Events:
    model = _dumps(chat.model)
    items: list[tuple[int, bytes]] = []
    for i, tok in enumerate(plan.thinking):
        items.append(
            (
                i,
                (
                    f'{{"model":{model},"created_at":"{_iso(wall_base + i / tps)}","message":'
                    f'{{"role":"assistant","content":"","thinking":{_dumps(tok)}}},"done":false}}\n'
                ).encode(),
            )
        )
    start = len(plan.thinking)
    for i, tok in enumerate(plan.content):
        items.append(
            (
                start + i,
                (
                    f'{{"model":{model},"created_at":"{_iso(wall_base + (start + i) / tps)}",'
                    f'"message":{{"role":"assistant","content":{_dumps(tok)}}},"done":false}}\n'
                ).encode(),
            )
        )
    return Events(items, b"", plan.completion_tokens - 1)


def ollama_v1_events(chat: ChatRequest, plan: Plan, completion_id: str) -> Events:
    """Ollama's ``middleware.ChatWriter``: role on the first chunk only, reasoning chunks with
    ``"content":""``, a finish chunk with an empty delta, the usage chunk, ``[DONE]``."""
    created = int(time.time())
    head = (
        f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_ollama","choices":[{{"index":0,'
        '"delta":'
    )
    tail = ',"finish_reason":null}]}\n\n'
    items: list[tuple[int, bytes]] = []
    role = '"role":"assistant",'
    for i, tok in enumerate(plan.thinking):
        delta = f'{role if i == 0 else ""}"content":"","reasoning":{_dumps(tok)}'
        items.append((i, f"{head}{{{delta}}}{tail}".encode()))
    start = len(plan.thinking)
    for i, tok in enumerate(plan.content):
        first = start + i == 0
        items.append(
            (start + i, f'{head}{{{role if first else ""}"content":{_dumps(tok)}}}{tail}'.encode())
        )
    if not items:
        items.append((0, f'{head}{{{role}"content":""}}{tail}'.encode()))
    finish = (
        f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_ollama","choices":[{{"index":0,'
        f'"delta":{{}},"finish_reason":"{plan.finish_reason}"}}]}}\n\n'
    )
    trailer = finish
    if chat.include_usage:
        usage = {
            "prompt_tokens": plan.prompt_tokens,
            "completion_tokens": plan.completion_tokens,
            "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        }
        trailer += (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_ollama","choices":[],'
            f'"usage":{_dumps(usage)}}}\n\n'
        )
    trailer += "data: [DONE]\n\n"
    return Events(items, trailer.encode(), plan.completion_tokens - 1)


def ollama_v1_body(chat: ChatRequest, plan: Plan, completion_id: str, mode: str | None) -> bytes:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": broken_json(plan.text) if mode == "malformed" else plan.text,
    }
    if plan.thinking:
        message["reasoning"] = plan.thinking_text
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": message, "finish_reason": plan.finish_reason}],
        "usage": {
            "prompt_tokens": plan.prompt_tokens,
            "completion_tokens": plan.completion_tokens,
            "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        },
    }
    return (_dumps(body) + "\n").encode()


# -- serving -------------------------------------------------------------------------------------


async def _fault(
    request: web.Request, dialect: Dialect
) -> tuple[web.StreamResponse | None, str | None]:
    response, fault = await apply_fault(request, "llm", error_body=fault_body(dialect))
    mode = fault.mode if fault is not None else None
    if response is not None and mode == "status":
        retry_after = response.headers.get("Retry-After")
        if dialect == "openai" and retry_after is not None:
            with contextlib.suppress(ValueError, OverflowError):  # e.g. a fault's "1e999"
                response.headers["retry-after-ms"] = str(int(float(retry_after) * 1000))
        return response, mode
    # "malformed" is the stand-in's own (a valid envelope, broken content): core's generic
    # malformed body is not used.
    return None, mode


async def serve_ollama(
    request: web.Request, chat: ChatRequest, outcome: Outcome
) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    sandbox = llm.sandbox
    config = sandbox.config
    loop = asyncio.get_running_loop()
    timing = Timing(arrival=loop.time())
    dialect = chat.dialect
    response, mode = await _fault(request, dialect)
    if response is not None:
        return response
    try:
        think = check_think(chat)
    except BadRequest as exc:
        return bad_request_response(exc, dialect)
    scheduler = llm.scheduler
    runner = scheduler.runner(chat.spec, config.ollama_parallel)
    if dialect == "native" and not chat.messages and chat.keep_alive == 0:
        # ChatHandler: "expire the runner" (unloaded once the requests on it are done).
        runner.keep_alive = 0
        if runner.running == 0:
            scheduler.unload(runner)
        return web.json_response(
            {
                "model": chat.model,
                "created_at": _iso(time.time()),
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "unload",
            }
        )
    num_ctx = chat.num_ctx or min(config.ollama_context_length, chat.spec.context_length)
    try:
        lease = await scheduler.acquire(runner, queue_max=llm.max_queue())
    except QueueFull as exc:
        return ollama_error(503, str(exc), dialect)
    generating = False
    try:
        timing.queued = lease.queued_seconds
        await scheduler.ready(
            lease, num_ctx=num_ctx, keep_alive=chat.keep_alive, load_seconds=llm.load_seconds()
        )
        generating = True
        timing.ready = loop.time()
        if not chat.messages:
            return web.json_response(
                {
                    "model": chat.model,
                    "created_at": _iso(time.time()),
                    "message": {"role": "assistant", "content": ""},
                    "done": True,
                    "done_reason": "load",
                }
            )
        if mode == "runner_crash":
            scheduler.unload(runner)
            return ollama_error(500, RUNNER_CRASH, dialect)
        evaluated = tokens.evaluate(chat.messages, num_ctx, chat.spec.tokenizer)
        sandbox.counters["llm_prompt_tokens"] += evaluated.prompt_tokens
        if evaluated.truncated or evaluated.dropped_messages:
            # Either way the model answers without part of what was sent, and says nothing.
            sandbox.counters["llm_truncated"] += 1
            sandbox.counters["llm_messages_dropped"] += evaluated.dropped_messages
        timing.prompt_seconds = llm.prompt_seconds(evaluated.prompt_tokens)
        await asyncio.sleep(timing.prompt_seconds)
        timing.generation = loop.time()
        plan = make_plan(chat, evaluated, think)
        return await respond_ollama(request, chat, plan, mode, timing, outcome)
    finally:
        if mode == "stream_error" and generating:
            scheduler.unload(runner)
        scheduler.release(lease, generating=generating)


async def respond_ollama(
    request: web.Request,
    chat: ChatRequest,
    plan: Plan,
    mode: str | None,
    timing: Timing,
    outcome: Outcome,
) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    tps, first = llm.pace()
    loop = asyncio.get_running_loop()
    base = timing.generation + first
    last = base + max(plan.completion_tokens - 1, 0) / tps
    done_reason = plan.finish_reason
    if chat.dialect == "ollama_v1":
        completion_id = f"chatcmpl-{next(llm.ids) % 999}"
        if not chat.stream:
            await _wait_until(last)
            if mode == "stream_error":
                return ollama_error(500, RUNNER_CRASH, "ollama_v1")
            v1_body = ollama_v1_body(chat, plan, completion_id, mode)
            return await _send_whole(request, v1_body, cut=mode == "cut_stream", outcome=outcome)
        events = ollama_v1_events(chat, plan, completion_id)
        # A mid-stream error reaches a /v1 client as one empty chunk, then a clean end of body.
        empty = (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":'
            f'{int(time.time())},"model":{_dumps(chat.model)},"system_fingerprint":"fp_ollama",'
            '"choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}\n\n'
        ).encode()
        return await send_stream(
            request,
            events,
            mode=mode,
            outcome=outcome,
            base=base,
            content_type="text/event-stream",
            broken_end=empty if mode == "stream_error" else None,
        )
    wall_base = time.time() + (base - loop.time())
    if not chat.stream:
        await _wait_until(last)
        if mode == "stream_error":
            return ollama_error(500, RUNNER_CRASH)
        content = broken_json(plan.text) if mode == "malformed" else plan.text
        body = {
            "model": chat.model,
            "created_at": _iso(time.time()),
            "message": native_message(content, plan.thinking_text),
            "done": True,
            "done_reason": done_reason,
            **_ollama_stats(plan, timing, loop.time()),
        }
        encoded = _dumps(body).encode()
        return await _send_whole(request, encoded, cut=mode == "cut_stream", outcome=outcome)
    events = native_events(chat, plan, wall_base, tps)

    # The final line's stats are those of its own moment: built when it is written.
    def final_line() -> bytes:
        line = {
            "model": chat.model,
            "created_at": _iso(time.time()),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": done_reason,
            **_ollama_stats(plan, timing, loop.time()),
        }
        return (_dumps(line) + "\n").encode()

    if mode == "cut_stream":
        # Ollama keeps the 200 it already sent and reports the failure as a last NDJSON line.
        end = b'{"error":"an error was encountered while running the model (sandbox cut)"}\n'
        return await send_stream(
            request,
            events,
            mode="stream_error",
            outcome=outcome,
            base=base,
            content_type="application/x-ndjson",
            broken_end=end,
        )
    if mode == "stream_error":
        end = (_dumps({"error": RUNNER_CRASH}) + "\n").encode()
        return await send_stream(
            request,
            events,
            mode="stream_error",
            outcome=outcome,
            base=base,
            content_type="application/x-ndjson",
            broken_end=end,
        )
    prepare = _stream_preparer(request, "application/x-ndjson")
    items = list(events.items)
    if mode == "malformed" and len(items) > 1:
        index, line = items[len(items) // 2]
        items[len(items) // 2] = (index, _broken_line(line))
    resp = await _paced_write(request, prepare, items, None, base)
    await _wait_until(last)
    await resp.write(final_line())
    await resp.write_eof()
    return resp


async def serve_openai(
    request: web.Request, chat: ChatRequest, outcome: Outcome
) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    sandbox = llm.sandbox
    loop = asyncio.get_running_loop()
    if OpenAILimits.no_quota(chat.api_key):
        return openai_error(
            429, QUOTA_MESSAGE, code="insufficient_quota", kind="insufficient_quota"
        )
    response, mode = await _fault(request, "openai")
    if response is not None:
        return response
    evaluated = tokens.evaluate(chat.messages, None, chat.spec.tokenizer)
    if evaluated.prompt_tokens > chat.spec.context_length:
        return openai_error(
            400,
            f"This model's maximum context length is {chat.spec.context_length} tokens. However, "
            f"your messages resulted in {evaluated.prompt_tokens} tokens. Please reduce the length "
            "of the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    reserved = evaluated.prompt_tokens + (chat.max_tokens or 0)
    try:
        account = llm.limits.take(chat.api_key, chat.model, reserved)
    except RateLimitExceeded as exc:
        headers = llm.limits.headers(llm.limits.account(chat.api_key))
        headers["retry-after"] = str(max(1, math.ceil(exc.retry_seconds)))
        return openai_error(
            429, exc.message, code="rate_limit_exceeded", kind=exc.kind, headers=headers
        )
    sandbox.counters["llm_prompt_tokens"] += evaluated.prompt_tokens
    started = loop.time()
    completion_id = f"chatcmpl-sandbox{next(llm.ids)}"
    headers = {
        "x-request-id": f"req_{completion_id}",
        "openai-processing-ms": "0",
        **llm.limits.headers(account),
    }
    plan = make_plan(chat, evaluated, False)
    if chat.max_tokens is None:
        llm.limits.spend(chat.api_key, plan.completion_tokens)
    tps, first = llm.pace()
    base = started + first
    if not chat.stream:
        await _wait_until(base + max(plan.completion_tokens - 1, 0) / tps)
        if mode == "stream_error":
            return openai_error(500, OPENAI_SERVER_ERROR, headers=headers)
        headers["openai-processing-ms"] = str(round((loop.time() - started) * 1000))
        body = openai_body(chat, plan, completion_id, mode)
        return await _send_whole(
            request, body, cut=mode == "cut_stream", outcome=outcome, headers=headers
        )
    events = openai_events(chat, plan, completion_id)
    error = ("data: " + _dumps(openai_error_body(500, OPENAI_SERVER_ERROR)) + "\n\n").encode()
    return await send_stream(
        request,
        events,
        mode=mode,
        outcome=outcome,
        base=base,
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", **headers},
        broken_end=error if mode == "stream_error" else None,
    )


async def _serve(request: web.Request, chat: ChatRequest) -> web.StreamResponse:
    sandbox = state_of(request)
    llm = request.app[LLM_KEY]
    outcome = Outcome()
    llm.received.append(
        {
            "vendor": chat.vendor,
            "model": chat.model,
            "stream": chat.stream,
            "messages": chat.messages,
        }
    )
    llm.active += 1
    try:
        if chat.vendor == "openai":
            return await serve_openai(request, chat, outcome)
        return await serve_ollama(request, chat, outcome)
    except (asyncio.CancelledError, ConnectionResetError):
        if not outcome.cut_by_us and not outcome.counted:
            outcome.counted = True
            sandbox.counters["llm_cancelled"] += 1
        raise
    finally:
        llm.active -= 1


# -- handlers ----------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    # aiohttp's headers are case-insensitive (the openai SDK sends lower-case names).
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _unauthorized() -> web.Response:
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code="invalid_api_key",
    )


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``/v1/chat/completions``: OpenAI for ``gpt-*``/``o*`` names, Ollama's layer otherwise."""
    state_of(request).counters["llm_requests"] += 1
    try:
        body = await _json_body(request)
    except BadRequest as exc:
        return openai_error(exc.status, exc.message)
    model = body.get("model")
    if isinstance(model, str) and model and not is_openai_name(model):
        ollama_spec = find_ollama(model)
        if ollama_spec is None:
            return ollama_error(404, f"model '{model}' not found", "ollama_v1")
        try:
            chat = parse_ollama_v1(body, ollama_spec)
        except BadRequest as exc:
            return ollama_error(exc.status, exc.message, "ollama_v1")
        return await _serve(request, chat)
    key = _bearer(request)
    if key is None:
        return _unauthorized()
    if not isinstance(model, str) or not model:
        return openai_error(400, "You must provide a model parameter.", param="model")
    spec = find_openai(model)
    if spec is None:
        return openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    try:
        chat = parse_openai(body, spec)
    except BadRequest as exc:
        return bad_request_response(exc, "openai")
    chat.api_key = key
    return await _serve(request, chat)


async def ollama_chat(request: web.Request) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    state_of(request).counters["llm_requests"] += 1
    try:
        model, body = parse_native(await _json_body(request))
        spec = find_ollama(model)
        if spec is None:
            return ollama_error(404, f'model "{model}" not found, try pulling it first')
        default_ctx = min(llm.sandbox.config.ollama_context_length, spec.context_length)
        chat = native_request(body, spec, default_ctx)
    except BadRequest as exc:
        return ollama_error(exc.status, exc.message)
    return await _serve(request, chat)


async def list_models(request: web.Request) -> web.Response:
    if _bearer(request) is None:
        return _unauthorized()
    data = [
        {"id": spec.name, "object": "model", "created": MODELS_CREATED, "owned_by": spec.owned_by}
        for spec in (*OLLAMA_MODELS, *OPENAI_MODELS)
    ]
    return web.json_response({"object": "list", "data": data})


def _details(spec: ModelSpec) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": spec.family,
        "families": [spec.family],
        "parameter_size": spec.parameter_size,
        "quantization_level": "Q4_K_M",
    }


async def ollama_tags(request: web.Request) -> web.Response:
    models = [
        {
            "name": spec.name,
            "model": spec.name,
            "modified_at": MODIFIED_AT,
            "size": spec.size,
            "digest": spec.digest,
            "details": _details(spec),
        }
        for spec in OLLAMA_MODELS
    ]
    return web.json_response({"models": models})


async def freeze_if_hung(request: web.Request) -> None:
    """A frozen server answers none of its routes: a ``hang`` fault without a path, or whose path
    matches, holds ``/api/show`` and ``/api/ps`` too (until the client gives up), without using
    up the fault's count, which belongs to the chat.

    Source: a stopped or thrashing process (SIGSTOP, a host swapping) still has its listening
    socket, so the kernel accepts connections and requests and nothing answers on any route; and
    Ollama's users report its whole API hanging, not only the chat (ollama/ollama#8348 "API
    Hangs"). A chat-only hang stays available: a ``path_regex`` of ``^/api/chat$``."""
    if state_of(request).hung("llm", request.path):
        await asyncio.sleep(24 * 3600)


async def ollama_show(request: web.Request) -> web.Response:
    await freeze_if_hung(request)
    try:
        body = await _json_body(request)
    except BadRequest as exc:
        return ollama_error(exc.status, exc.message)
    name = body.get("model") or body.get("name")
    if not isinstance(name, str) or not name:
        return ollama_error(400, "model is required")
    spec = find_ollama(name)
    if spec is None:
        return ollama_error(404, f"model '{ollama_name(name)}' not found")
    template = (
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
        if spec.tokenizer == "llama"
        else "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
        "{{ end }}<|im_start|>assistant\n"
    )
    return web.json_response(
        {
            "license": "",
            "modelfile": f'# Modelfile generated by "ollama show"\nFROM {spec.name}\n',
            "parameters": 'stop                           "<|eot_id|>"'
            if spec.tokenizer == "llama"
            else 'stop                           "<|im_end|>"',
            "template": template,
            "details": _details(spec),
            "model_info": spec.model_info,
            "capabilities": list(spec.capabilities),
            "modified_at": MODIFIED_AT,
        }
    )


async def ollama_ps(request: web.Request) -> web.Response:
    await freeze_if_hung(request)
    llm = request.app[LLM_KEY]
    now = asyncio.get_running_loop().time()
    models = []
    for runner in llm.scheduler.runners.values():
        runner.expire_if_due(now)
        if not runner.loaded or runner.num_ctx is None:
            continue
        spec = runner.spec
        if runner.expires_wall is not None:
            expires = runner.expires_wall
        elif runner.keep_alive == FOREVER:
            expires = time.time() + 292 * 365.25 * 86400  # Go's largest time.Duration
        else:  # running: the keep-alive starts once it is idle
            expires = time.time() + runner.keep_alive
        models.append(
            {
                "name": spec.name,
                "model": spec.name,
                "size": spec.size + runner.num_ctx * spec.kv_bytes_per_token,
                "digest": spec.digest,
                "details": _details(spec),
                "expires_at": _iso(expires),
                "size_vram": 0,
                "context_length": runner.num_ctx,
            }
        )
    models.sort(key=lambda m: str(m["expires_at"]), reverse=True)
    return web.json_response({"models": models})


def _control_view(llm: LlmState) -> dict[str, Any]:
    tps, first = llm.pace()
    config = llm.sandbox.config
    return {
        "tokens_per_second": tps,
        "first_token_ms": round(first * 1000),
        "load_ms": round(llm.load_seconds() * 1000),
        "prompt_tokens_per_second": llm.prompt_tokens_per_second
        or config.ollama_prompt_tokens_per_second,
        "queue_max": llm.max_queue(),
        "context_length": config.ollama_context_length,
        "parallel": config.ollama_parallel,
        "keep_alive": config.ollama_keep_alive,
        "openai_tpm": config.openai_tpm,
        "openai_rpm": config.openai_rpm,
        "active_streams": llm.active,
        "runners": {
            name: {
                "loaded": runner.loaded,
                "context_length": runner.num_ctx,
                "running": runner.running,
                "queued": len(runner.waiters),
            }
            for name, runner in llm.scheduler.runners.items()
        },
        "models": [spec.name for spec in (*OLLAMA_MODELS, *OPENAI_MODELS)],
        "last_stream": asdict(llm.last_stream) if llm.last_stream is not None else None,
    }


async def get_llm_control(request: web.Request) -> web.Response:
    return web.json_response(_control_view(request.app[LLM_KEY]))


CONTROL_FIELDS = {
    "tokens_per_second": "number",
    "first_token_ms": "int",
    "load_ms": "int",
    "prompt_tokens_per_second": "number",
    "queue_max": "int",
}


async def get_llm_requests(request: web.Request) -> web.Response:
    """The chat requests received since the last reset (the newest last, at most 50)."""
    return web.json_response({"requests": list(request.app[LLM_KEY].received)})


async def post_llm_control(request: web.Request) -> web.Response:
    """Speed knobs at run time (and the queue bound); ``/_sandbox/reset`` restores the CLI values.
    Context size and parallelism are CLI-only: the sandbox is never made lenient at run time."""
    llm = request.app[LLM_KEY]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict) or set(body) - set(CONTROL_FIELDS):
        return web.json_response(
            {"error": f"expected an object with some of {sorted(CONTROL_FIELDS)}"}, status=400
        )
    for name, kind in CONTROL_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return web.json_response({"error": f"{name} must be a number"}, status=400)
        if kind == "number" and not 0 < value <= 1_000_000_000:
            return web.json_response({"error": f"{name} must be > 0"}, status=400)
        if kind == "int" and (not isinstance(value, int) or value < 0):
            return web.json_response({"error": f"{name} must be an integer >= 0"}, status=400)
    if body.get("tokens_per_second") is not None:
        llm.tokens_per_second = float(body["tokens_per_second"])
    if body.get("first_token_ms") is not None:
        llm.first_token_ms = int(body["first_token_ms"])
    if body.get("load_ms") is not None:
        llm.load_ms = int(body["load_ms"])
    if body.get("prompt_tokens_per_second") is not None:
        llm.prompt_tokens_per_second = float(body["prompt_tokens_per_second"])
    if body.get("queue_max") is not None:
        llm.queue_max = int(body["queue_max"])
    return web.json_response(_control_view(llm))


def setup(app: web.Application) -> None:
    sandbox = app[STATE_KEY]
    config = sandbox.config
    scheduler = Scheduler(sandbox.counters, server_keep_alive(config.ollama_keep_alive))
    llm = LlmState(
        sandbox=sandbox,
        scheduler=scheduler,
        limits=OpenAILimits(config.openai_tpm, config.openai_rpm),
    )
    app[LLM_KEY] = llm
    sandbox.reset_hooks.append(llm.reset)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/api/chat", ollama_chat)
    app.router.add_get("/api/tags", ollama_tags)
    app.router.add_post("/api/show", ollama_show)
    app.router.add_get("/api/ps", ollama_ps)
    app.router.add_get("/_sandbox/llm", get_llm_control)
    app.router.add_post("/_sandbox/llm", post_llm_control)
    app.router.add_get("/_sandbox/llm/requests", get_llm_requests)
