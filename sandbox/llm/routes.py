"""HTTP side of the LLM stand-in: OpenAI chat completions and Ollama chat, paced, with faults.

Each request is answered in three steps: parse and validate (vendor-shaped 4xx errors), build the
whole answer and its wire chunks up front (so a stream only sleeps and writes: 500 concurrent
streams cost little CPU), then send it at the configured pace. A client that goes away before the
end is counted once in ``counters["llm_cancelled"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from sandbox.core import STATE_KEY, SandboxState, apply_fault, state_of
from sandbox.llm.answers import (
    Answer,
    approx_tokens,
    broken_json,
    build_answer,
    prompt_tokens,
    strict_schema_problem,
)

Vendor = Literal["openai", "ollama"]

MODELS: dict[str, dict[str, str]] = {
    "llama3.1:8b": {"family": "llama", "parameter_size": "8.0B", "owner": "meta"},
    "qwen2.5:7b": {"family": "qwen2", "parameter_size": "7.6B", "owner": "qwen"},
    "gpt-4o-mini": {"family": "gpt", "parameter_size": "", "owner": "openai"},
    "gpt-4.1-mini": {"family": "gpt", "parameter_size": "", "owner": "openai"},
}
OLLAMA_MODELS = ("llama3.1:8b", "qwen2.5:7b")
MODELS_CREATED = 1_721_172_741  # a fixed "created" for /v1/models
SCHEMA_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Several chunks due within one tick share a write: at 200 tokens/s and hundreds of streams, one
# wake-up per token would cost more CPU than the whole test it serves.
BASE_TICK_SECONDS = 0.025
TICK_STREAMS = 100
CUT_GRACE_SECONDS = 5.0
RECEIVED_KEPT = 50


@dataclass
class StreamTiming:
    """When the sandbox wrote the pieces of one streamed answer, in ms after the request began:
    the pace as the sandbox kept it, whatever the client's load did to its reading."""

    pieces: int
    writes: int = 0
    first_write_ms: float | None = None
    last_write_ms: float | None = None


@dataclass
class LlmState:
    sandbox: SandboxState
    tokens_per_second: float | None = None
    first_token_ms: int | None = None
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

    def reset(self) -> None:
        self.tokens_per_second = None
        self.first_token_ms = None
        self.received.clear()
        self.last_stream = None

    def tick(self) -> float:
        return BASE_TICK_SECONDS * max(1.0, self.active / TICK_STREAMS)


LLM_KEY = web.AppKey("sandbox_llm", LlmState)


class BadRequest(Exception):
    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


@dataclass
class ChatRequest:
    vendor: Vendor
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    json_mode: bool
    schema: dict[str, Any] | None
    max_tokens: int | None


@dataclass
class Plan:
    """The answer cut into wire-sized pieces, with its usage and finish reason."""

    content: str
    pieces: list[str]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Outcome:
    """Per-request bookkeeping: was the connection cut by us (a fault) rather than the client."""

    cut_by_us: bool = False
    counted: bool = False


# -- vendor error bodies -----------------------------------------------------------------------


def openai_error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 429:
        kind = "requests"
        code = code or "rate_limit_exceeded"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openai_error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> web.Response:
    body = openai_error_body(status, message, param=param, code=code)
    return web.json_response(body, status=status)


def ollama_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def openai_fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        message = "Rate limit reached for requests (sandbox fault). Please try again later."
    elif status >= 500:
        message = "The server had an error while processing your request (sandbox fault)."
    else:
        message = f"Request refused with status {status} (sandbox fault)."
    return openai_error_body(status, message)


def ollama_fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"error": "too many requests (sandbox fault)"}
    return {"error": f"an error was encountered while running the model (sandbox fault {status})"}


# -- parsing -----------------------------------------------------------------------------------


def known_model(name: str) -> str | None:
    if name in MODELS:
        return name
    if name.endswith(":latest") and name[: -len(":latest")] in MODELS:
        return name[: -len(":latest")]
    return None


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


def parse_openai(body: dict[str, Any]) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(400, "You must provide a model parameter.", param="model")
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
    max_tokens = _positive_int(body.get("max_completion_tokens"), "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _positive_int(body.get("max_tokens"), "max_tokens")
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
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise BadRequest(
                    400,
                    "Missing required parameter: 'response_format.json_schema.name'.",
                    param="response_format.json_schema.name",
                    code="missing_required_parameter",
                )
            if not SCHEMA_NAME_RE.match(spec["name"]):
                raise BadRequest(
                    400,
                    "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.",
                    param="response_format.json_schema.name",
                )
            schema = spec.get("schema")
            if schema is not None and not isinstance(schema, dict):
                raise BadRequest(
                    400, "Invalid schema: expected an object.", param="response_format"
                )
            # Only OpenAI's own models enforce strict mode; Ollama's /v1 accepts any schema.
            if schema is not None and spec.get("strict") is True and model.startswith("gpt-"):
                problem = strict_schema_problem(schema)
                if problem:
                    raise BadRequest(
                        400,
                        f"Invalid schema for response_format '{spec['name']}': {problem}",
                        param="response_format",
                        code="invalid_json_schema",
                    )
    return ChatRequest(
        vendor="openai",
        model=model,
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        json_mode=json_mode,
        schema=schema,
        max_tokens=max_tokens,
    )


def parse_ollama(body: dict[str, Any]) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(400, "model is required")
    messages = _messages(body.get("messages", []), allow_empty=True)
    stream = body.get("stream", True) is not False
    fmt = body.get("format")
    json_mode, schema = False, None
    if fmt in (None, ""):
        pass
    elif fmt == "json":
        json_mode = True
    elif isinstance(fmt, dict):
        json_mode, schema = True, fmt
    else:
        raise BadRequest(400, f"invalid format: {json.dumps(fmt)}")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest(400, "options must be an object")
    num_predict = options.get("num_predict")
    max_tokens = (
        num_predict
        if isinstance(num_predict, int) and not isinstance(num_predict, bool) and num_predict > 0
        else None
    )
    return ChatRequest(
        vendor="ollama",
        model=model,
        messages=messages,
        stream=stream,
        include_usage=False,
        json_mode=json_mode,
        schema=schema,
        max_tokens=max_tokens,
    )


# -- planning ----------------------------------------------------------------------------------

PIECE_RE = re.compile(r"\s*\S{1,5}|\s+")


def make_plan(chat: ChatRequest, answer: Answer) -> Plan:
    content = answer.content
    finish = "stop"
    if chat.max_tokens is not None and approx_tokens(content) > chat.max_tokens:
        content = content[: chat.max_tokens * 4]
        finish = "length"
    return Plan(
        content=content,
        pieces=PIECE_RE.findall(content),
        finish_reason=finish,
        prompt_tokens=prompt_tokens(chat.messages),
        completion_tokens=approx_tokens(content),
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


async def _paced_write(
    request: web.Request,
    resp: web.StreamResponse,
    events: list[bytes],
    final: Callable[[], bytes] | None,
    start: float,
) -> None:
    """Write ``events`` (event i due at start + first-token delay + i / tokens per second)."""
    llm = request.app[LLM_KEY]
    tps, first = llm.pace()
    loop = asyncio.get_running_loop()
    i, n = 0, len(events)
    timing = llm.last_stream = StreamTiming(pieces=n)
    while i < n:
        due = start + first + i / tps
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
            now = loop.time()
        horizon = now + llm.tick()
        j = i + 1
        while j < n and start + first + j / tps <= horizon:
            j += 1
        batch = b"".join(events[i:j])
        if j == n and final is not None:
            batch += final()
        await resp.write(batch)
        written_ms = (loop.time() - start) * 1000
        if timing.first_write_ms is None:
            timing.first_write_ms = written_ms
        timing.last_write_ms = written_ms
        timing.writes += 1
        i = j
    if n == 0 and final is not None:
        await resp.write(final())


async def _cut_connection(request: web.Request, outcome: Outcome) -> None:
    """Close the socket without ending the body (no last chunk), as a crashed upstream would."""
    outcome.cut_by_us = True
    transport = request.transport
    if transport is not None:
        transport.close()
    # handler_cancellation: the lost connection cancels this handler; the grace is a safety net.
    await asyncio.sleep(CUT_GRACE_SECONDS)
    raise ConnectionResetError("connection cut by a cut_stream fault")


def _total_seconds(llm: LlmState, plan: Plan) -> float:
    tps, first = llm.pace()
    return first + max(len(plan.pieces) - 1, 0) / tps


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


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def respond_openai(
    request: web.Request, chat: ChatRequest, plan: Plan, mode: str | None, outcome: Outcome
) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    loop = asyncio.get_running_loop()
    start = loop.time()
    completion_id = f"chatcmpl-sandbox{next(llm.ids)}"
    created = int(time.time())
    headers = {"x-request-id": f"req_{completion_id}", "openai-processing-ms": "0"}
    if not chat.stream:
        await asyncio.sleep(max(0.0, start + _total_seconds(llm, plan) - loop.time()))
        body = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": broken_json(plan.content)
                        if mode == "malformed"
                        else plan.content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ],
            "usage": _usage(plan),
            "service_tier": "default",
            "system_fingerprint": "fp_sandbox",
        }
        encoded = _dumps(body).encode()
        return await _send_whole(
            request, encoded, cut=mode == "cut_stream", outcome=outcome, headers=headers
        )

    head = (
        f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
        f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_sandbox","choices":[{{"index":0,'
        '"delta":'
    )
    tail = ',"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    role = f'{head}{{"role":"assistant","content":"","refusal":null}}{tail}'.encode()
    events = [f'{head}{{"content":{_dumps(piece)}}}{tail}'.encode() for piece in plan.pieces]
    events[0:1] = [role + (events[0] if events else b"")]
    finish = (
        f'{head}{{}},"logprobs":null,"finish_reason":"{plan.finish_reason}"}}],"usage":null}}\n\n'
    )
    trailer = finish
    if chat.include_usage:
        trailer += (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{_dumps(chat.model)},"system_fingerprint":"fp_sandbox","choices":[],'
            f'"usage":{_dumps(_usage(plan))}}}\n\n'
        )
    trailer += "data: [DONE]\n\n"
    if mode == "malformed" and len(events) > 1:
        events[len(events) // 2] = _broken_line(events[len(events) // 2])
    resp = web.StreamResponse(
        status=200,
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"},
    )
    resp.headers.update(headers)
    await resp.prepare(request)
    if mode == "cut_stream":
        await _paced_write(request, resp, events[: max(1, len(events) // 2)], None, start)
        await _cut_connection(request, outcome)
    trailer_bytes = trailer.encode()
    await _paced_write(request, resp, events, lambda: trailer_bytes, start)
    await resp.write_eof()
    return resp


def _ollama_stats(plan: Plan, started_wall: float, eval_started_wall: float) -> dict[str, Any]:
    now = time.time()
    total_ns = int((now - started_wall) * 1e9)
    prompt_ns = max(int((eval_started_wall - started_wall) * 1e9), 1)
    return {
        "total_duration": max(total_ns, prompt_ns + 1),
        "load_duration": 1_000_000,
        "prompt_eval_count": plan.prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": plan.completion_tokens,
        "eval_duration": max(total_ns - prompt_ns, 1),
    }


async def respond_ollama(
    request: web.Request, chat: ChatRequest, plan: Plan, mode: str | None, outcome: Outcome
) -> web.StreamResponse:
    llm = request.app[LLM_KEY]
    loop = asyncio.get_running_loop()
    start = loop.time()
    started_wall = time.time()
    tps, first = llm.pace()
    done_reason = "length" if plan.finish_reason == "length" else "stop"
    if not chat.stream:
        await asyncio.sleep(max(0.0, start + _total_seconds(llm, plan) - loop.time()))
        content = broken_json(plan.content) if mode == "malformed" else plan.content
        body = {
            "model": chat.model,
            "created_at": _iso(time.time()),
            "message": {"role": "assistant", "content": content},
            "done_reason": done_reason,
            "done": True,
            **_ollama_stats(plan, started_wall, started_wall + first),
        }
        encoded = _dumps(body).encode()
        return await _send_whole(request, encoded, cut=mode == "cut_stream", outcome=outcome)

    model = _dumps(chat.model)
    events = [
        (
            f'{{"model":{model},"created_at":"{_iso(started_wall + first + i / tps)}",'
            f'"message":{{"role":"assistant","content":{_dumps(piece)}}},"done":false}}\n'
        ).encode()
        for i, piece in enumerate(plan.pieces)
    ]
    if mode == "malformed" and len(events) > 1:
        events[len(events) // 2] = _broken_line(events[len(events) // 2])

    def final() -> bytes:
        line = {
            "model": chat.model,
            "created_at": _iso(time.time()),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": done_reason,
            **_ollama_stats(plan, started_wall, started_wall + first),
        }
        return (_dumps(line) + "\n").encode()

    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-ndjson"})
    await resp.prepare(request)
    if mode == "cut_stream":
        # Ollama keeps the 200 it already sent and reports the failure as a last NDJSON line.
        error = b'{"error":"an error was encountered while running the model (sandbox cut)"}\n'
        await _paced_write(request, resp, events[: max(1, len(events) // 2)], lambda: error, start)
    else:
        await _paced_write(request, resp, events, final, start)
    await resp.write_eof()
    return resp


# -- handlers ----------------------------------------------------------------------------------


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
        error_body = openai_fault_body if chat.vendor == "openai" else ollama_fault_body
        response, fault = await apply_fault(request, "llm", error_body=error_body)
        mode = fault.mode if fault is not None else None
        if response is not None and mode == "status":
            retry_after = response.headers.get("Retry-After")
            if chat.vendor == "openai" and retry_after is not None:
                with contextlib.suppress(ValueError, OverflowError):  # e.g. a fault's "1e999"
                    response.headers["retry-after-ms"] = str(int(float(retry_after) * 1000))
            return response
        answer = build_answer(chat.messages, json_mode=chat.json_mode, schema=chat.schema)
        plan = make_plan(chat, answer)
        if chat.vendor == "openai":
            return await respond_openai(request, chat, plan, mode, outcome)
        return await respond_ollama(request, chat, plan, mode, outcome)
    except (asyncio.CancelledError, ConnectionResetError):
        if not outcome.cut_by_us and not outcome.counted:
            outcome.counted = True
            sandbox.counters["llm_cancelled"] += 1
        raise
    finally:
        llm.active -= 1


def _bearer_ok(request: web.Request) -> bool:
    # aiohttp's headers are case-insensitive (the openai SDK sends lower-case names).
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _unauthorized() -> web.Response:
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code="invalid_api_key",
    )


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state_of(request).counters["llm_requests"] += 1
    if not _bearer_ok(request):
        return _unauthorized()
    try:
        chat = parse_openai(await _json_body(request))
    except BadRequest as exc:
        return openai_error(exc.status, exc.message, param=exc.param, code=exc.code)
    if known_model(chat.model) is None:
        return openai_error(
            404,
            f"The model `{chat.model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return await _serve(request, chat)


async def ollama_chat(request: web.Request) -> web.StreamResponse:
    state_of(request).counters["llm_requests"] += 1
    try:
        chat = parse_ollama(await _json_body(request))
    except BadRequest as exc:
        return ollama_error(exc.status, exc.message)
    if known_model(chat.model) is None:
        return ollama_error(404, f'model "{chat.model}" not found, try pulling it first')
    return await _serve(request, chat)


async def list_models(request: web.Request) -> web.Response:
    if not _bearer_ok(request):
        return _unauthorized()
    data = [
        {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": info["owner"]}
        for name, info in MODELS.items()
    ]
    return web.json_response({"object": "list", "data": data})


async def ollama_tags(request: web.Request) -> web.Response:
    models = []
    for name in OLLAMA_MODELS:
        info = MODELS[name]
        models.append(
            {
                "name": name,
                "model": name,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 4_920_753_328,
                "digest": hashlib.sha256(name.encode()).hexdigest(),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": info["family"],
                    "families": [info["family"]],
                    "parameter_size": info["parameter_size"],
                    "quantization_level": "Q4_K_M",
                },
            }
        )
    return web.json_response({"models": models})


def _pace_view(llm: LlmState) -> dict[str, Any]:
    tps, first = llm.pace()
    return {
        "tokens_per_second": tps,
        "first_token_ms": round(first * 1000),
        "active_streams": llm.active,
        "models": list(MODELS),
        "last_stream": asdict(llm.last_stream) if llm.last_stream is not None else None,
    }


async def get_llm_control(request: web.Request) -> web.Response:
    return web.json_response(_pace_view(request.app[LLM_KEY]))


async def get_llm_requests(request: web.Request) -> web.Response:
    """The chat requests received since the last reset (the newest last, at most 50)."""
    return web.json_response({"requests": list(request.app[LLM_KEY].received)})


async def post_llm_control(request: web.Request) -> web.Response:
    llm = request.app[LLM_KEY]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict) or set(body) - {"tokens_per_second", "first_token_ms"}:
        return web.json_response(
            {"error": "expected an object with tokens_per_second and/or first_token_ms"},
            status=400,
        )
    tps = body.get("tokens_per_second")
    first = body.get("first_token_ms")
    if tps is not None and (
        isinstance(tps, bool) or not isinstance(tps, int | float) or not 0 < tps <= 1_000_000
    ):
        return web.json_response({"error": "tokens_per_second must be > 0"}, status=400)
    if first is not None and (isinstance(first, bool) or not isinstance(first, int) or first < 0):
        return web.json_response({"error": "first_token_ms must be an integer >= 0"}, status=400)
    if tps is not None:
        llm.tokens_per_second = float(tps)
    if first is not None:
        llm.first_token_ms = first
    return web.json_response(_pace_view(llm))


def setup(app: web.Application) -> None:
    sandbox = app[STATE_KEY]
    llm = LlmState(sandbox=sandbox)
    app[LLM_KEY] = llm
    sandbox.reset_hooks.append(llm.reset)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/api/chat", ollama_chat)
    app.router.add_get("/api/tags", ollama_tags)
    app.router.add_get("/_sandbox/llm", get_llm_control)
    app.router.add_post("/_sandbox/llm", post_llm_control)
    app.router.add_get("/_sandbox/llm/requests", get_llm_requests)
