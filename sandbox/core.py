"""The sandbox's shared machinery: configuration, request counters, fault injection, control routes.

Every feature module (Atlassian OAuth, Jira, LLM) registers its routes on the one aiohttp
application built by :func:`sandbox.app.create_app` and uses :class:`SandboxState` for counters and
faults. The sandbox never sets a cookie: cookies ignore ports, so one would clobber the app's own
cookies on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Target = Literal["oauth", "jira", "llm"]
Mode = Literal["status", "delay", "hang", "malformed", "cut_stream", "runner_crash", "stream_error"]
TARGETS: tuple[str, ...] = ("oauth", "jira", "llm")
MODES: tuple[str, ...] = (
    "status",
    "delay",
    "hang",
    "malformed",
    "cut_stream",
    "runner_crash",
    "stream_error",
)


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8090
    seed: int = 42
    token_ttl: int = 3600
    llm_tokens_per_second: float = 200.0
    llm_first_token_ms: int = 20
    # Ollama as a stock server runs it (see sandbox/README.md for the sources of each default).
    ollama_context_length: int = 4096
    ollama_parallel: int = 1
    ollama_queue_max: int = 512
    ollama_load_ms: int = 3000
    ollama_keep_alive: str = "5m"
    ollama_prompt_tokens_per_second: float = 1000.0
    # OpenAI: a tier-1 account's limits.
    openai_tpm: int = 200_000
    openai_rpm: int = 500

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class Fault:
    id: int
    target: str
    mode: str
    path_regex: str | None = None
    status: int | None = None
    retry_after: int | None = None
    delay_ms: int | None = None
    count: int | None = None  # None: until removed

    def matches(self, target: str, path: str) -> bool:
        if self.target != target or self.count == 0:
            return False
        return self.path_regex is None or re.search(self.path_regex, path) is not None


class Counters(Counter[str]):
    """Named counters that wake whoever waits on them (``GET /_sandbox/stats?wait_for=``)."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value)
        self.notify()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self) -> None:
        await self._changed.wait()


@dataclass
class RouteTiming:
    """What the sandbox itself observed of one route's requests, so that tests prove timing by
    the peer's account (the test's own clock runs with whatever load the machine has)."""

    in_flight: int = 0
    max_in_flight: int = 0
    last_arrival: float | None = None
    last_gap_ms: float | None = None  # between the last two arrivals

    def arrive(self, now: float) -> None:
        if self.last_arrival is not None:
            self.last_gap_ms = (now - self.last_arrival) * 1000
        self.last_arrival = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)


@dataclass
class SandboxState:
    config: SandboxConfig
    routes: Counter[str] = field(default_factory=Counter)
    counters: Counters = field(default_factory=Counters)
    timing: dict[str, RouteTiming] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        fault = Fault(id=next(self._ids), **spec)
        self.faults.append(fault)
        return fault

    def take_fault(self, target: str, path: str) -> Fault | None:
        """The first fault matching this request, its count consumed."""
        for fault in self.faults:
            if fault.matches(target, path):
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def hung(self, target: str, path: str) -> bool:
        """The first fault matching this request is a ``hang`` (not consumed): what a frozen
        server does to every route, metadata ones included."""
        fault = next((f for f in self.faults if f.matches(target, path)), None)
        return fault is not None and fault.mode == "hang"

    def reset(self) -> None:
        self.routes.clear()
        self.counters.clear()
        self.counters.notify()
        self.timing.clear()
        self.faults.clear()
        for hook in self.reset_hooks:
            hook()


STATE_KEY = web.AppKey("sandbox_state", SandboxState)

ErrorBody = Callable[[int], Any]


def state_of(request: web.Request) -> SandboxState:
    return request.app[STATE_KEY]


async def apply_fault(
    request: web.Request, target: str, *, error_body: ErrorBody
) -> tuple[web.StreamResponse | None, Fault | None]:
    """Apply the first matching fault for ``target``.

    Returns ``(response, fault)``: a response to send instead of the normal one (status, malformed),
    or ``None`` to carry on (no fault, or a delay that has elapsed). ``hang`` sleeps until the
    client goes away (aiohttp cancels the handler). ``cut_stream`` is returned to the caller,
    which cuts its own stream where it makes sense.
    """
    fault = state_of(request).take_fault(target, request.path)
    if fault is None:
        return None, None
    if fault.mode == "delay":
        await asyncio.sleep((fault.delay_ms or 0) / 1000)
        return None, fault
    if fault.mode == "hang":
        await asyncio.sleep(24 * 3600)
    if fault.mode == "status":
        status = fault.status or 500
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        body = error_body(status)
        return web.json_response(body, status=status, headers=headers), fault
    if fault.mode == "malformed":
        return web.Response(
            status=200, text='{"malformed": [1, 2,', content_type="application/json"
        ), fault
    return None, fault


@web.middleware
async def count_routes(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    if template.startswith("/_sandbox"):
        return await handler(request)
    state = state_of(request)
    route = f"{request.method} {template}"
    state.routes[route] += 1
    timing = state.timing.setdefault(route, RouteTiming())
    timing.arrive(asyncio.get_running_loop().time())
    try:
        return await handler(request)
    finally:
        timing.in_flight -= 1


def _bad(detail: str) -> web.Response:
    return web.json_response({"error": detail}, status=400)


async def post_fault(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(body, dict):
        return _bad("body must be an object")
    allowed = {"target", "path_regex", "mode", "status", "retry_after", "delay_ms", "count"}
    unknown = set(body) - allowed
    if unknown:
        return _bad(f"unknown fields: {sorted(unknown)}")
    if body.get("target") not in TARGETS:
        return _bad(f"target must be one of {TARGETS}")
    if body.get("mode") not in MODES:
        return _bad(f"mode must be one of {MODES}")
    if body.get("path_regex") is not None:
        try:
            re.compile(body["path_regex"])
        except re.error as exc:
            return _bad(f"bad path_regex: {exc}")
    fault = state_of(request).add_fault(body)
    return web.json_response({"id": fault.id}, status=201)


async def delete_faults(request: web.Request) -> web.Response:
    state_of(request).faults.clear()
    return web.json_response({"deleted": True})


_CONDITION = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*(\d+)\s*$")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
MAX_WAIT_SECONDS = 60.0
Condition = Callable[[Counter[str]], bool]


def _condition(name: str, test: Callable[[int, int], bool], value: int) -> Condition:
    return lambda counters: test(counters[name], value)


def _conditions(spec: str) -> list[Condition]:
    """``llm_cancelled>=4,refreshes==1``: each a test on one counter."""
    conditions = []
    for part in spec.split(","):
        match = _CONDITION.match(part)
        if match is None:
            raise ValueError(f"bad condition {part!r}: expected NAME(>=|<=|==|>|<)INTEGER")
        name, op, value = match.groups()
        conditions.append(_condition(name, _OPERATORS[op], int(value)))
    return conditions


def _stats_body(state: SandboxState) -> dict[str, Any]:
    return {
        "routes": dict(state.routes),
        "tokens_issued": state.counters["tokens_issued"],
        "refreshes": state.counters["refreshes"],
        "llm_cancelled": state.counters["llm_cancelled"],
        "llm_truncated": state.counters["llm_truncated"],
        "llm_prompt_tokens": state.counters["llm_prompt_tokens"],
        "llm_reloads": state.counters["llm_reloads"],
        "llm_queue_max": state.counters["llm_queue_max"],
        "counters": dict(state.counters),
        "max_in_flight": {route: t.max_in_flight for route, t in state.timing.items()},
        "last_gap_ms": {
            route: t.last_gap_ms for route, t in state.timing.items() if t.last_gap_ms is not None
        },
    }


async def get_stats(request: web.Request) -> web.Response:
    """The counters; with ``wait_for=COND[,COND...]`` (and ``timeout=S``, default 10), answered
    once every condition holds (200), or at the timeout with 408: a test waits on the sandbox's
    own events instead of polling it."""
    state = state_of(request)
    spec = request.query.get("wait_for")
    if spec is None:
        return web.json_response(_stats_body(state))
    try:
        conditions = _conditions(spec)
        timeout = float(request.query.get("timeout", "10"))
    except ValueError as exc:
        return _bad(str(exc))
    if not 0 <= timeout <= MAX_WAIT_SECONDS:
        return _bad(f"timeout must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    try:
        async with asyncio.timeout(timeout):
            while not all(holds(state.counters) for holds in conditions):
                await state.counters.changed()
    except TimeoutError:
        return web.json_response(_stats_body(state), status=408)
    return web.json_response(_stats_body(state))


async def post_reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.json_response({"reset": True})


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/_sandbox/faults", post_fault)
    app.router.add_delete("/_sandbox/faults", delete_faults)
    app.router.add_get("/_sandbox/stats", get_stats)
    app.router.add_post("/_sandbox/reset", post_reset)
