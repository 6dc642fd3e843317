"""jira-ai's two hops against LiteLLM's one, relaying the same sandbox OpenAI stream, in one run.

Three readers of one stream, through one tap (``bench_streaming.Tap``: a pass-through proxy in
front of the sandbox's ``/v1/chat/completions`` that timestamps each SSE event when it has
written it on):

- **direct**: this process reads the tap (the baseline; the tap's own cost is in every row);
- **LiteLLM** 1.106.2 proxy (``bench/litellm.py``), one hop: client -> LiteLLM -> tap;
- **jira-ai**, two hops: client -> API -> ai-service -> tap, ai-service on ``LLM_PROVIDER=openai``
  (``gpt-4o-mini`` on the sandbox, a key whose token and request limits are out of reach).

Same tokens, same pacing: each round first runs one analysis through jira-ai, then sends the body
ai-service sent to the tap (same messages, same ``json_schema``, so the sandbox writes the same
bytes) directly and through LiteLLM; rounds are interleaved so that the machine's load drifts
alike for all three. Per chunk the latency is client time - tap time of the chunk that completed
the text received so far (jira-ai's ``delta`` events are matched by replaying the tapped chunks
through the engine's ``ThinkFilter`` and ``SectionParser``, as ``bench_streaming`` does); the
*added* latency is a relay's percentile minus the direct one. **First byte added**: the request's
way to the tap (tap arrival - client start) plus the first chunk's way back, minus the same
direct: what a relay adds before the first token, the model's own wait excluded.

**CPU** (``/proc/<pid>/stat``, user + system, the process and its children: API + ai-service;
LiteLLM's process) is read around each sequential stream and added up per relay; per request is
that total over the streams, per chunk the same total over the chunks relayed (one total split
two ways: it includes jira-ai's session, quota, Jira cache read and prompt building, which
LiteLLM does not do). **RSS**: after warm-up at rest, and the peak sampled every 50 ms while
:data:`BURST_STREAMS` streams are open at once (first token after 3 s so they overlap).

Limits: one 2-core machine runs the sandbox, the tap, both stacks, Redis and the client; the
machine's load (``os.getloadavg``) is in the results. LiteLLM runs with one worker (its default)
and no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from ai_service.engine.stream import CONFIRM_CHARS
from bench import litellm
from bench.bench_streaming import (
    ACCOUNT,
    Tap,
    _env,
    _expected_deltas,
    on_sandbox,
    pace,
    pct,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The sandbox's OpenAI limits are per key and read from it: these are out of the bench's reach.
SANDBOX_KEY = "sk-bench-tpm100000000-rpm1000000"
# An ordinary issue (bench_streaming's PAY-3 nests its ADF 200 levels deep): the bench measures
# the relay, and a costlier prompt only weighs on both stacks' per-request CPU.
ISSUE = "PAY-12"
PACE_TOKENS_PER_SECOND = 100
ROUNDS = 6
WARMUP_ROUNDS = 2
BURST_STREAMS = 200
BURST_PACE = 20
BURST_FIRST_TOKEN_MS = 3000
BURST_TIMEOUT = 120.0  # a burst stream takes about 15 s on a quiet machine
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- processes' CPU and memory -------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for root in pids:
        for pid in _tree(root):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_mb(pids: list[int]) -> float:
    total = 0
    for root in pids:
        for pid in _tree(root):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
    return total / 1024


# -- readers -------------------------------------------------------------------------------------


def _latencies(
    received: list[tuple[float, str]], sent: list[tuple[float, str]]
) -> list[float] | None:
    """client - tap time (ms) per received chunk, against the tapped chunk that completed the
    text received so far; ``None`` when the texts differ (not counted)."""
    if "".join(t for _, t in received) != "".join(t for _, t in sent):
        return None
    out, i, tapped = [], 0, 0
    received_len = 0
    for at, text in received:
        received_len += len(text)
        while tapped < received_len:
            tapped += len(sent[i][1])
            i += 1
        out.append((at - sent[i - 1][0]) * 1000)
    return out


def _delta_latencies(
    received: list[tuple[float, str, str]], expected: list[tuple[float, str, str]]
) -> tuple[list[float] | None, int]:
    """client - tap time (ms) per ``delta`` event, against the tapped chunk that completed the
    section's text given out so far, and how many of them belong to the held-back start.

    The engine's deltas are not the model's chunks: the first :data:`CONFIRM_CHARS` of an
    answer are held until checked, then given out at once, and deltas go out in whole words
    (``DeltaFilter``). So each delta is timed from the chunk that completed its last character,
    which charges both waits to jira-ai. ``None`` when the text differs (a guard rewrote it)."""
    ends: dict[str, list[tuple[int, float]]] = {}
    texts: dict[str, str] = {}
    for at, section, text in expected:
        texts[section] = texts.get(section, "") + text
        ends.setdefault(section, []).append((len(texts[section]), at))
    given: dict[str, str] = {}
    for _, section, text in received:
        given[section] = given.get(section, "") + text
    if given != texts:
        return None, 0
    out: list[float] = []
    held, total = 0, 0
    cum: dict[str, int] = {}
    for at, section, text in received:
        total += len(text)
        held += total <= CONFIRM_CHARS
        cum[section] = cum.get(section, 0) + len(text)
        tap_at = next(t for end, t in ends[section] if end >= cum[section])
        out.append((at - tap_at) * 1000)
    return out, held


async def openai_stream(
    http: httpx.AsyncClient, url: str, key: str, body: bytes, seen: dict[str, str] | None = None
) -> tuple[float, list[tuple[float, str]], bool]:
    """(start, [(time, content)], complete) of one streamed chat completion; ``seen["last"]``
    says how far it got."""
    received: list[tuple[float, str]] = []
    seen = {} if seen is None else seen
    complete = False
    started = time.perf_counter()
    async with http.stream(
        "POST",
        url + "/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return started, received, False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            now = time.perf_counter()
            data = line[5:].strip()
            seen["last"] = f"chunk {len(received)}"
            if data == "[DONE]":
                complete = True
                continue
            choices = json.loads(data).get("choices") or [{}]
            text = (choices[0].get("delta") or {}).get("content") or ""
            if text:
                received.append((now, text))
    return started, received, complete


async def jira_stream(
    client: httpx.AsyncClient, seen: dict[str, str] | None = None
) -> tuple[float, list[tuple[float, str, str]], str]:
    """(start, [(time, section, text)] of the ``delta`` events, last event name); ``seen["last"]``
    follows the last event as it comes (a burst's cut stream says where it stopped)."""
    received: list[tuple[float, str, str]] = []
    name = ""
    seen = {} if seen is None else seen
    started = time.perf_counter()
    async with client.stream(
        "POST", "/ai/analyze-issue/stream", json={"issue_key": ISSUE, "language": "en"}
    ) as response:
        if response.status_code != 200:
            body = json.loads(await response.aread())
            return started, received, f"http {response.status_code} {body.get('code')}"
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = seen["last"] = line[7:]
            elif line.startswith("data: ") and name == "delta":
                data = json.loads(line[6:])
                received.append((time.perf_counter(), data["section"], data["text"]))
            elif line.startswith("data: ") and name == "error":
                name = f"error {json.loads(line[6:]).get('code')}"
    return started, received, name


# -- the run -------------------------------------------------------------------------------------


class Relay:
    def __init__(self, name: str, pids: list[int]) -> None:
        self.name, self.pids = name, pids
        self.chunk_ms: list[float] = []
        self.steady_ms: list[float] = []  # the same, past the first CONFIRM_CHARS of each answer
        self.first_ms: list[float] = []
        self.to_tap_ms: list[float] = []
        self.cpu = 0.0
        self.streams = 0
        self.chunks = 0
        self.unmatched = 0
        self.held = 0  # jira-ai: deltas of the held-back start (the first CONFIRM_CHARS)

    def add(
        self, started: float, arrived: float, latencies: list[float] | None, start: int = 0
    ) -> None:
        """One stream: its chunk latencies, the first ``start`` of them its first
        CONFIRM_CHARS."""
        if not latencies:
            self.unmatched += 1
            return
        self.to_tap_ms.append((arrived - started) * 1000)
        self.first_ms.append((arrived - started) * 1000 + latencies[0])
        self.chunk_ms += latencies
        self.steady_ms += latencies[start:]


def _new_record(tap: Tap, known: set[int]) -> int | None:
    fresh = sorted(set(tap.records) - known)
    return fresh[-1] if fresh else None


async def _round(
    tap: Tap,
    jira: httpx.AsyncClient,
    http: httpx.AsyncClient,
    proxy_url: str,
    relays: dict[str, Relay] | None,
) -> None:
    known = set(tap.records)
    cpu = {name: cpu_seconds(r.pids) for name, r in (relays or {}).items()}
    started, deltas, last = await jira_stream(jira)
    n = _new_record(tap, known)
    if relays is not None:
        relay = relays["jira-ai"]
        relay.cpu += cpu_seconds(relay.pids) - cpu["jira-ai"]
        relay.streams += 1
        latencies = None
        if n is not None and last == "done":
            relay.chunks += len(tap.records[n])
            latencies, held = _delta_latencies(deltas, _expected_deltas(tap.records[n]))
            relay.held += held
        relay.add(started, tap.arrivals[n] if n is not None else started, latencies, held)
    if n is None:
        raise RuntimeError(f"jira-ai's analysis reached no LLM (last event {last!r})")
    body = tap.bodies[n]
    for name, url, key in (
        ("direct", tap.url, SANDBOX_KEY),
        ("LiteLLM", proxy_url, litellm.MASTER_KEY),
    ):
        known = set(tap.records)
        before = cpu_seconds(relays[name].pids) if relays else 0.0
        started, received, complete = await openai_stream(http, url, key, body)
        m = _new_record(tap, known)
        if relays is None:
            continue
        relay = relays[name]
        relay.cpu += cpu_seconds(relay.pids) - before
        relay.streams += 1
        if m is None or not complete:
            relay.unmatched += 1
            continue
        relay.chunks += len(tap.records[m])
        lengths = itertools.accumulate(len(t) for _, t in received)
        start = sum(1 for n in lengths if n <= CONFIRM_CHARS)
        relay.add(started, tap.arrivals[m], _latencies(received, tap.records[m]), start)


async def _peak_rss(pids: list[int], stop: asyncio.Event) -> float:
    peak = rss_mb(pids)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)  # sampling interval
        peak = max(peak, rss_mb(pids))
    return peak


async def _burst(name: str, one: Any, pids: list[int], others: list[int]) -> dict[str, Any]:
    """:data:`BURST_STREAMS` of ``one(seen)`` at once; CPU of the relay's processes, of
    ``others`` (the sandbox) and of this process (the tap and the clients) over the burst."""

    async def guarded() -> str:
        seen: dict[str, str] = {}
        try:
            async with asyncio.timeout(BURST_TIMEOUT):
                return str(await one(seen))
        except TimeoutError:
            return f"timeout (last event {seen.get('last', 'none')})"
        except httpx.HTTPError as exc:
            return type(exc).__name__

    stop = asyncio.Event()
    sampler = asyncio.create_task(_peak_rss(pids, stop))
    cpu, other, own = cpu_seconds(pids), cpu_seconds(others), time.process_time()
    started = time.perf_counter()
    ends = await asyncio.gather(*(guarded() for _ in range(BURST_STREAMS)))
    seconds = time.perf_counter() - started
    cpu, other = cpu_seconds(pids) - cpu, cpu_seconds(others) - other
    own = time.process_time() - own
    stop.set()
    peak = await sampler
    counts: dict[str, int] = {}
    for end in ends:
        counts[end] = counts.get(end, 0) + 1
    return {
        "relay": name,
        "seconds": seconds,
        "ends": counts,
        "cpu_s": cpu,
        "sandbox_cpu_s": other,
        "bench_process_cpu_s": own,
        "peak_rss_mb": peak,
        "load": os.getloadavg(),
    }


async def _measure(sandbox_url: str, database: str, sandbox_pid: int) -> dict[str, Any]:
    from tests.support.servers import start_api, start_daphne
    from tests.support.signin import sign_in

    tap = Tap(sandbox_url)
    await tap.start()
    env = {
        **_env(sandbox_url, sandbox_url, database),
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": tap.url + "/v1",
        "OPENAI_API_KEY": SANDBOX_KEY,
        "OPENAI_MODEL": litellm.MODEL,
    }
    proxy = await asyncio.to_thread(litellm.start, tap.url + "/v1", SANDBOX_KEY)
    ai_service = await asyncio.to_thread(
        start_daphne,
        "ai_service.asgi:application",
        {**env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"},
    )
    api = await asyncio.to_thread(
        start_api, env, client_id="bench-litellm", extra_env={"AI_SERVICE_URL": ai_service.url}
    )
    raw: dict[str, Any] = {"load_before": os.getloadavg()}
    try:
        jira = await sign_in(api.url, ACCOUNT)
        jira.timeout = httpx.Timeout(BURST_TIMEOUT)
        limits = httpx.Limits(max_connections=BURST_STREAMS + 50)
        http = httpx.AsyncClient(timeout=httpx.Timeout(BURST_TIMEOUT), limits=limits)
        ours = [api.process.pid, ai_service.process.pid]
        theirs = [proxy.process.pid]
        relays = {
            "direct": Relay("direct", []),
            "LiteLLM": Relay("LiteLLM", theirs),
            "jira-ai": Relay("jira-ai", ours),
        }
        pace(sandbox_url, 50_000)
        for _ in range(WARMUP_ROUNDS):
            await _round(tap, jira, http, proxy.url, None)
        rest = {"jira-ai": rss_mb(ours), "LiteLLM": rss_mb(theirs)}
        pace(sandbox_url, PACE_TOKENS_PER_SECOND)
        for _ in range(ROUNDS):
            await _round(tap, jira, http, proxy.url, relays)
        raw["relays"] = {
            name: {k: v for k, v in vars(r).items() if k not in ("name", "pids")}
            for name, r in relays.items()
        }
        raw["rss_rest_mb"] = rest

        body = tap.bodies[max(tap.bodies)]
        burst_jira = httpx.AsyncClient(
            base_url=api.url,
            cookies=jira.cookies,
            headers={"X-CSRFToken": jira.headers["X-CSRFToken"]},
            timeout=httpx.Timeout(BURST_TIMEOUT, pool=BURST_TIMEOUT),
            limits=limits,
        )

        async def one_jira(seen: dict[str, str]) -> str:
            _, _, last = await jira_stream(burst_jira, seen)
            return last

        async def one_litellm(seen: dict[str, str]) -> str:
            _, _, complete = await openai_stream(http, proxy.url, litellm.MASTER_KEY, body, seen)
            return "done" if complete else "incomplete"

        pace(sandbox_url, BURST_PACE, first_token_ms=BURST_FIRST_TOKEN_MS)
        raw["burst"] = {
            "jira-ai": await _burst("jira-ai", one_jira, ours, [sandbox_pid]),
            "LiteLLM": await _burst("LiteLLM", one_litellm, theirs, [sandbox_pid]),
        }
        raw["rss_after_burst_mb"] = {"jira-ai": rss_mb(ours), "LiteLLM": rss_mb(theirs)}
        pace(sandbox_url, 50_000)
        await burst_jira.aclose()
        await http.aclose()
        await jira.aclose()
        raw["load_after"] = os.getloadavg()
    finally:
        await asyncio.to_thread(api.stop)
        await asyncio.to_thread(ai_service.stop)
        await asyncio.to_thread(proxy.stop)
        await tap.stop()
    return raw


def run() -> dict[str, Any]:
    litellm.ensure()  # before any server starts: the first install takes minutes
    raw = on_sandbox(
        "bench-litellm-",
        lambda sandbox, database: _measure(sandbox.url, database, sandbox.process.pid),
    )
    result = _report(raw)
    _plot(result)
    return result


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("nan")


def figures(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    relays, burst = raw["relays"], raw["burst"]
    direct = relays["direct"]
    out: dict[str, dict[str, float]] = {}
    for name in ("jira-ai", "LiteLLM"):
        r = relays[name]
        out[name] = {
            "chunk_added_p50_ms": pct(r["chunk_ms"], 50) - pct(direct["chunk_ms"], 50),
            "chunk_added_p99_ms": pct(r["chunk_ms"], 99) - pct(direct["chunk_ms"], 99),
            "steady_added_p50_ms": pct(r["steady_ms"], 50) - pct(direct["steady_ms"], 50),
            "steady_added_p99_ms": pct(r["steady_ms"], 99) - pct(direct["steady_ms"], 99),
            "first_byte_added_ms": pct(r["first_ms"], 50) - pct(direct["first_ms"], 50),
            "cpu_per_chunk_us": r["cpu"] / max(r["chunks"], 1) * 1e6,
            "cpu_per_request_ms": r["cpu"] / max(r["streams"], 1) * 1000,
            "rss_rest_mb": raw["rss_rest_mb"][name],
            "rss_burst_peak_mb": burst[name]["peak_rss_mb"],
            "burst_errors": BURST_STREAMS - burst[name]["ends"].get("done", 0),
            "burst_cpu_per_stream_ms": burst[name]["cpu_s"] / BURST_STREAMS * 1000,
        }
    return out


ROWS = (
    ("per-chunk added latency p50 (ms)", "chunk_added_p50_ms", "ours <= 0.5 x LiteLLM"),
    ("per-chunk added latency p99 (ms)", "chunk_added_p99_ms", "ours <= 0.5 x LiteLLM"),
    (f"  past each answer's first {CONFIRM_CHARS} chars, p50 (ms)", "steady_added_p50_ms", ""),
    (f"  past each answer's first {CONFIRM_CHARS} chars, p99 (ms)", "steady_added_p99_ms", ""),
    ("first byte added, p50 (ms)", "first_byte_added_ms", ""),
    ("server CPU per chunk (us)", "cpu_per_chunk_us", ""),
    ("server CPU per request (ms)", "cpu_per_request_ms", ""),
    ("RSS at rest (MB)", "rss_rest_mb", ""),
    (f"RSS peak, {BURST_STREAMS} concurrent streams (MB)", "rss_burst_peak_mb", "ours <= 0.25 x"),
    (f"{BURST_STREAMS} concurrent streams: errors", "burst_errors", "0"),
    (f"CPU per stream in the {BURST_STREAMS}-stream burst (ms)", "burst_cpu_per_stream_ms", ""),
)


def _report(raw: dict[str, Any]) -> dict[str, Any]:
    f = figures(raw)
    rows = [
        {
            "figure": label,
            "jira-ai (2 hops)": f["jira-ai"][key],
            "LiteLLM (1 hop)": f["LiteLLM"][key],
            "ours / LiteLLM": _ratio(f["jira-ai"][key], f["LiteLLM"][key]),
            "target": target,
        }
        for label, key, target in ROWS
    ]
    relays = raw["relays"]
    direct = relays["direct"]
    notes = [
        f"{ROUNDS} rounds (after {WARMUP_ROUNDS} warm-up), each: one jira-ai analysis of {ISSUE} "
        "on gpt-4o-mini (sandbox), then its LLM request body sent directly and through LiteLLM "
        f"{litellm.VERSION}; {PACE_TOKENS_PER_SECOND} chunks/s. Direct chunk latency p50 "
        f"{pct(direct['chunk_ms'], 50):.3f} ms, p99 {pct(direct['chunk_ms'], 99):.3f} ms; "
        f"chunks counted: jira-ai {len(relays['jira-ai']['chunk_ms'])}, LiteLLM "
        f"{len(relays['LiteLLM']['chunk_ms'])}, direct {len(direct['chunk_ms'])}; unmatched "
        f"streams: jira-ai {relays['jira-ai']['unmatched']}, LiteLLM "
        f"{relays['LiteLLM']['unmatched']}, direct {direct['unmatched']}.",
        f"Request to the tap: jira-ai p50 {pct(relays['jira-ai']['to_tap_ms'], 50):.1f} ms "
        "(session, quota, Jira cache, prompt, signed call to ai-service), LiteLLM "
        f"{pct(relays['LiteLLM']['to_tap_ms'], 50):.1f} ms, direct "
        f"{pct(direct['to_tap_ms'], 50):.2f} ms.",
        f"Bursts of {BURST_STREAMS} streams (first token after {BURST_FIRST_TOKEN_MS} ms, "
        f"{BURST_PACE} chunks/s): jira-ai {raw['burst']['jira-ai']['seconds']:.1f} s, ends "
        f"{raw['burst']['jira-ai']['ends']}; LiteLLM {raw['burst']['LiteLLM']['seconds']:.1f} s, "
        f"ends {raw['burst']['LiteLLM']['ends']}.",
        f"Load average (1, 5, 15 min) before {tuple(round(x, 2) for x in raw['load_before'])}, "
        f"after {tuple(round(x, 2) for x in raw['load_after'])} (2 cores).",
    ]
    return {
        "title": "Streaming relay: jira-ai (API + ai-service) against LiteLLM proxy, same stream",
        "litellm": litellm.VERSION,
        "columns": ["figure", "jira-ai (2 hops)", "LiteLLM (1 hop)", "ours / LiteLLM", "target"],
        "rows": rows,
        "figures": f,
        "notes": notes,
        "summary": notes,
        "raw": raw,
    }


def _plot(result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = result["figures"]
    panels = [
        ("added per chunk p50 (ms)", "chunk_added_p50_ms"),
        ("added per chunk p99 (ms)", "chunk_added_p99_ms"),
        (f"p50 past first {CONFIRM_CHARS} chars (ms)", "steady_added_p50_ms"),
        ("first byte added (ms)", "first_byte_added_ms"),
        ("CPU per chunk (us)", "cpu_per_chunk_us"),
        ("RSS at rest (MB)", "rss_rest_mb"),
        (f"RSS, {BURST_STREAMS} streams (MB)", "rss_burst_peak_mb"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(17, 3.4))
    for ax, (title, key) in zip(axes, panels, strict=True):
        values = [f["jira-ai"][key], f["LiteLLM"][key]]
        bars = ax.bar(["jira-ai\n2 hops", "LiteLLM\n1 hop"], values, color=["#2b6cb0", "#a0aec0"])
        ax.bar_label(bars, fmt="%.2f" if max(values) < 10 else "%.0f", fontsize=8)
        ratio = _ratio(values[0], values[1])
        ax.set_title(f"{title}\nours/LiteLLM = {ratio:.2f}", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"Same sandbox OpenAI stream: jira-ai vs LiteLLM {litellm.VERSION}", fontsize=10)
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "litellm.png", dpi=110)
    plt.close(fig)
