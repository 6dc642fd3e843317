"""What happens between a request and its first token: Ollama's scheduler and OpenAI's rate limits.

Ollama (one :class:`Runner` per model):

* ``parallel`` requests run at once per model (``OLLAMA_NUM_PARALLEL``, 1 since v0.10); the others
  wait in a FIFO queue and receive nothing, not even headers, until their turn. A request that finds
  ``queue_max`` requests already waiting is refused: 503 "server busy…" (``OLLAMA_MAX_QUEUE``, 512).
  Real Ollama bounds only the requests waiting for a (re)load; the sandbox bounds every wait.
* A model is loaded on its first request and after ``keep_alive`` of idleness (default 5 minutes;
  a request's ``keep_alive`` replaces it, 0 unloads as soon as the model is idle, a negative value
  never), which takes ``load_ms``. A loaded model is reloaded when a request asks for another
  context size (``options.num_ctx``, capped at the model's training context): Ollama compares the
  runner options and restarts the runner. A reload waits until the requests running on the old
  runner are done. A client that leaves during a load aborts it (the model stays unloaded).
* ``load_duration`` is the time from the request's arrival to a loaded runner, minus the time it
  waited in the queue for a slot (Ollama measures the scheduler's wait, not the runner's semaphore).

OpenAI (per API key, so each test picks its own account): a key containing ``noquota`` has no
credit (429 ``insufficient_quota``); ``tpm<N>`` / ``rpm<N>`` in a key set that key's limits, else
``--openai-tpm`` / ``--openai-rpm``. Buckets refill continuously over a minute; a request costs its
prompt tokens plus ``max_completion_tokens`` (when given) up front, the rest of its completion when
it ends.

Sources (ollama/ollama at v0.33.0-rc2; facts and issue numbers in jira-ai's llm-servers notes):
parallelism and the queue bound in ``server/sched.go`` (``defaultParallel``, ``maxQueue``, the 503
at lines ~88 and ~205) and ``envconfig`` (``OLLAMA_NUM_PARALLEL`` 1 since commit 20c3266e9, v0.10.0;
``OLLAMA_MAX_QUEUE`` 512, PR #4144; ``OLLAMA_KEEP_ALIVE`` 5m); the silent wait on the runner's
semaphore in ``llm/llama_server.go`` (~960, ~1536); the aborted load, "client connection closed
before … finished loading" (``llm/llama_server.go`` ~1300, issue #7408); the reload on another
``num_ctx`` (issue #6176). OpenAI: ``insufficient_quota`` and the "Please try again in Xs" 429 as
reported in langchainjs#1929 and OpenAI's community threads; the ``x-ratelimit-*`` header names
from OpenAI's rate-limit docs.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from sandbox.llm.models import ModelSpec

FOREVER = float("inf")
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"

_GO_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


class DurationError(ValueError):
    pass


def go_duration(text: str) -> float:
    """Seconds in a Go duration string (``time.ParseDuration``: "5m", "1h30m", "250ms", "0")."""
    quoted = '"' + text + '"'
    rest = text
    sign = 1.0
    if rest[:1] in "+-" and rest:
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise DurationError(f"time: invalid duration {quoted}")
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _GO_DURATION_RE.match(rest, pos)
        if match is None or match.group(1) in ("", "."):
            if re.fullmatch(r"[0-9.]+", rest[pos:]):
                raise DurationError(f"time: missing unit in duration {quoted}")
            raise DurationError(f"time: invalid duration {quoted}")
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def keep_alive_seconds(value: object) -> float:
    """Ollama's ``keep_alive`` (``api.Duration``): seconds as a number, or a Go duration string;
    negative means forever. Raises :class:`DurationError` with Ollama's message."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        kind = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}.get(
            type(value), type(value).__name__
        )
        raise DurationError(f"Unsupported type: '{kind}'")
    seconds = go_duration(value) if isinstance(value, str) else float(value)
    return FOREVER if seconds < 0 else seconds


def server_keep_alive(text: str) -> float:
    """``OLLAMA_KEEP_ALIVE``: a Go duration or a number of seconds; negative means forever."""
    try:
        seconds = go_duration(text)
    except DurationError:
        seconds = float(int(text))
    return FOREVER if seconds < 0 else seconds


class QueueFull(Exception):
    pass


@dataclass
class Runner:
    """One model on the Ollama side: slots, the FIFO of waiting requests, what is loaded."""

    spec: ModelSpec
    parallel: int
    holders: int = 0  # requests holding a slot (loading, evaluating or generating)
    running: int = 0  # of those, requests generating on the loaded runner
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    num_ctx: int | None = None  # the context of the loaded runner; None: not loaded
    keep_alive: float = 300.0
    expires_at: float | None = None  # loop time; None while running
    expires_wall: float | None = None
    loading: asyncio.Event | None = None  # set when the load in progress ends (either way)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def loaded(self) -> bool:
        return self.num_ctx is not None

    def expire_if_due(self, now: float) -> None:
        if (
            self.loaded
            and self.running == 0
            and self.loading is None
            and self.expires_at is not None
            and now >= self.expires_at
        ):
            self.num_ctx = None
            self.expires_at = self.expires_wall = None


@dataclass
class Lease:
    """A request's slot on a runner, and how long it waited and loaded."""

    runner: Runner
    queued_seconds: float = 0.0
    load_seconds: float = 0.0
    loaded_now: bool = False
    released: bool = False


class Scheduler:
    """Ollama's scheduler, per model (see the module docstring)."""

    def __init__(self, counters: Counter[str], default_keep_alive: float) -> None:
        self.counters = counters
        self.default_keep_alive = default_keep_alive
        self.runners: dict[str, Runner] = {}

    def reset(self) -> None:
        # Requests still in flight keep their old Runner objects and release them harmlessly.
        self.runners = {}

    def runner(self, spec: ModelSpec, parallel: int) -> Runner:
        runner = self.runners.get(spec.name)
        if runner is None:
            runner = Runner(
                spec=spec, parallel=max(parallel, 1), keep_alive=self.default_keep_alive
            )
            self.runners[spec.name] = runner
        return runner

    def queued(self) -> int:
        return sum(len(r.waiters) for r in self.runners.values())

    async def acquire(self, runner: Runner, *, queue_max: int) -> Lease:
        """A slot on ``runner``, in FIFO order. Raises :class:`QueueFull` at once when
        ``queue_max`` requests already wait."""
        loop = asyncio.get_running_loop()
        lease = Lease(runner=runner)
        if runner.holders < runner.parallel and not runner.waiters:
            runner.holders += 1
            return lease
        if len(runner.waiters) >= queue_max:
            raise QueueFull(BUSY_MESSAGE)
        started = loop.time()
        turn: asyncio.Future[None] = loop.create_future()
        runner.waiters.append(turn)
        self.counters["llm_queue_max"] = max(self.counters["llm_queue_max"], self.queued())
        try:
            await turn  # release() hands its slot over: holders is already counted for us
        except asyncio.CancelledError:
            if turn in runner.waiters:
                runner.waiters.remove(turn)
            elif turn.done() and not turn.cancelled():
                self._hand_over(runner)
            raise
        lease.queued_seconds = loop.time() - started
        return lease

    async def ready(
        self, lease: Lease, *, num_ctx: int, keep_alive: float | None, load_seconds: float
    ) -> None:
        """Wait until ``lease.runner`` is loaded with ``num_ctx``, loading it if needed."""
        runner = lease.runner
        loop = asyncio.get_running_loop()
        while True:
            runner.expire_if_due(loop.time())
            if runner.loading is not None:
                await runner.loading.wait()
                continue
            if runner.num_ctx == num_ctx:
                break
            if runner.running > 0:  # a reload waits for the requests on the old runner
                await runner.idle.wait()
                continue
            reload = runner.loaded
            runner.num_ctx = None
            runner.loading = done = asyncio.Event()
            started = loop.time()
            try:
                await asyncio.sleep(load_seconds)
            except asyncio.CancelledError:
                self.counters["llm_load_aborted"] += 1
                raise
            else:
                runner.num_ctx = num_ctx
                runner.keep_alive = self.default_keep_alive if keep_alive is None else keep_alive
                self.counters["llm_loads"] += 1
                if reload:
                    self.counters["llm_reloads"] += 1
                lease.loaded_now = True
            finally:
                lease.load_seconds += loop.time() - started
                runner.loading = None
                done.set()
        if keep_alive is not None:
            runner.keep_alive = keep_alive
        runner.running += 1
        runner.idle.clear()
        runner.expires_at = runner.expires_wall = None

    def release(self, lease: Lease, *, generating: bool) -> None:
        if lease.released:
            return
        lease.released = True
        runner = lease.runner
        if generating:
            runner.running -= 1
            if runner.running == 0:
                runner.idle.set()
                if runner.loaded:
                    loop = asyncio.get_running_loop()
                    if runner.keep_alive == 0:
                        runner.num_ctx = None
                    elif runner.keep_alive != FOREVER:
                        runner.expires_at = loop.time() + runner.keep_alive
                        runner.expires_wall = time.time() + runner.keep_alive
        self._hand_over(runner)

    def _hand_over(self, runner: Runner) -> None:
        """A slot is free: give it to the oldest waiter still waiting, or free it."""
        while runner.waiters:
            turn = runner.waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        runner.holders -= 1

    def unload(self, runner: Runner) -> None:
        """The runner died (a crash): the next request loads the model again."""
        runner.num_ctx = None
        runner.expires_at = runner.expires_wall = None


# -- OpenAI -------------------------------------------------------------------------------------

QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)
_KEY_LIMIT_RE = re.compile(r"(tpm|rpm)(\d+)")


def openai_duration(seconds: float) -> str:
    """OpenAI's reset / retry strings: ``12ms``, ``1.902s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{math.ceil(seconds * 1000) / 1000:g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{rest}s"


@dataclass
class Bucket:
    limit: int
    level: float
    stamp: float

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.stamp) * self.limit / 60.0)
        self.stamp = now

    def reset_seconds(self) -> float:
        return (self.limit - self.level) * 60.0 / self.limit


@dataclass
class Account:
    tokens: Bucket
    requests: Bucket


class RateLimitExceeded(Exception):
    def __init__(self, kind: str, message: str, retry_seconds: float) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_seconds = retry_seconds


class OpenAILimits:
    """Token and request buckets per API key (see the module docstring)."""

    def __init__(self, tpm: int, rpm: int) -> None:
        self.tpm = tpm
        self.rpm = rpm
        self.accounts: dict[str, Account] = {}

    def reset(self) -> None:
        self.accounts = {}

    @staticmethod
    def no_quota(key: str) -> bool:
        return "noquota" in key

    def account(self, key: str) -> Account:
        account = self.accounts.get(key)
        if account is None:
            limits = {"tpm": self.tpm, "rpm": self.rpm}
            for kind, number in _KEY_LIMIT_RE.findall(key):
                limits[kind] = max(1, int(number))
            now = time.monotonic()
            account = Account(
                tokens=Bucket(limits["tpm"], float(limits["tpm"]), now),
                requests=Bucket(limits["rpm"], float(limits["rpm"]), now),
            )
            self.accounts[key] = account
        return account

    def take(self, key: str, model: str, tokens: int) -> Account:
        """Spend one request and ``tokens`` tokens, or raise :class:`RateLimitExceeded`."""
        account = self.account(key)
        now = time.monotonic()
        account.tokens.refill(now)
        account.requests.refill(now)
        for kind, bucket, needed, unit in (
            ("requests", account.requests, 1, "requests per min (RPM)"),
            ("tokens", account.tokens, tokens, "tokens per min (TPM)"),
        ):
            if bucket.level < needed:
                wait = (min(needed, bucket.limit) - bucket.level) * 60.0 / bucket.limit
                used = bucket.limit - math.floor(bucket.level)
                message = (
                    f"Rate limit reached for {model} in organization org-sandbox on {unit}: "
                    f"Limit {bucket.limit}, Used {used}, Requested {needed}. Please try again in "
                    f"{openai_duration(wait)}. Visit https://platform.openai.com/account/rate-limits"
                    " to learn more."
                )
                raise RateLimitExceeded(kind, message, wait)
        account.requests.level -= 1
        account.tokens.level -= tokens
        return account

    def spend(self, key: str, tokens: int) -> None:
        if tokens > 0:
            account = self.account(key)
            account.tokens.refill(time.monotonic())
            account.tokens.level -= tokens

    @staticmethod
    def headers(account: Account) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(account.requests.limit),
            "x-ratelimit-limit-tokens": str(account.tokens.limit),
            "x-ratelimit-remaining-requests": str(max(0, math.floor(account.requests.level))),
            "x-ratelimit-remaining-tokens": str(max(0, math.floor(account.tokens.level))),
            "x-ratelimit-reset-requests": openai_duration(account.requests.reset_seconds()),
            "x-ratelimit-reset-tokens": openai_duration(account.tokens.reset_seconds()),
        }
