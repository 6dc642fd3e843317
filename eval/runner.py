"""The processes and the requests of a scorecard run.

One sandbox per run (Atlassian always; the LLM unless ``EVAL_PROVIDER`` names a real one), with a
fast LLM pace; per model, one ai-service process (pointed at that model) and one public API
process calling it, both under Daphne as the tests start them, on a SQLite file and a Redis
database of the run's own (flushed before each model, so no cached answer of another model or run
counts). Each case is asked through the API as a browser would (signed in through the sandbox's
OAuth), one at a time; latency is the client's, request to final byte; tokens are the growth of
ai-service's ``jira_ai_llm_tokens_total`` over the case.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from eval.cases import Case
from eval.facts import ALICE, SandboxJira, case_facts
from eval.scoring import (
    SCORES,
    Facts,
    analysis_visible,
    score,
    stream_visible,
    summary_visible,
)

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_MODELS = ("llama3.1:8b", "sloppy", "obedient")
# Fast but stock in everything else (one request at a time, contexts, cuts): the run measures
# answers, not the sandbox's pace.
SANDBOX_PACE = ("--llm-tokens-per-second", "20000", "--llm-first-token-ms", "0")
REQUEST_TIMEOUT = 300.0
UNAVAILABLE = "model unavailable"
SHARED_SECRET = "eval-shared-secret"  # between the run's own two processes, not a secret
TOKENS_RE = re.compile(
    r"^jira_ai_llm_tokens_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+-]+)$", re.MULTILINE
)


@dataclass(frozen=True)
class Provider:
    """Where the LLM is: ``sandbox`` (the run's), ``ollama`` or ``openai``."""

    name: str
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> Provider:
        name = environ.get("EVAL_PROVIDER", "sandbox")
        if name == "sandbox":
            return cls("sandbox")
        if name == "ollama":
            url = environ.get("EVAL_OLLAMA_BASE_URL") or "http://127.0.0.1:11434"
            return cls("ollama", {"LLM_PROVIDER": "ollama", "OLLAMA_BASE_URL": url})
        if name == "openai":
            if not environ.get("OPENAI_API_KEY"):
                raise SystemExit("EVAL_PROVIDER=openai needs OPENAI_API_KEY")
            env = {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": environ["OPENAI_API_KEY"]}
            if environ.get("OPENAI_BASE_URL"):
                env["OPENAI_BASE_URL"] = environ["OPENAI_BASE_URL"]
            return cls("openai", env)
        raise SystemExit(f"EVAL_PROVIDER must be sandbox, ollama or openai, not {name!r}")

    def model_env(self, model: str, sandbox_url: str) -> dict[str, str]:
        if self.name == "sandbox":
            return {"LLM_PROVIDER": "ollama", "OLLAMA_BASE_URL": sandbox_url, "OLLAMA_MODEL": model}
        key = "OLLAMA_MODEL" if self.name == "ollama" else "OPENAI_MODEL"
        return {**self.env, key: model}


def redis_url_for_run(environ: dict[str, str]) -> str:
    """``EVAL_REDIS_URL``, else the Redis of ``REDIS_URL`` (``scripts/with-redis``) on database
    ``EVAL_REDIS_DB`` (13): a database of the scorecard's own, since it is flushed."""
    if environ.get("EVAL_REDIS_URL"):
        return environ["EVAL_REDIS_URL"]
    base = urlsplit(environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(base._replace(path=f"/{environ.get('EVAL_REDIS_DB', '13')}"))


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _base_env(sandbox_url: str, database: str, redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "jira_ai.settings.base",
        "DJANGO_DEBUG": "true",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "ATLASSIAN_AUTH_URL": sandbox_url,
        "ATLASSIAN_API_URL": sandbox_url,
        "AI_SHARED_SECRET": SHARED_SECRET,
        "AI_USER_REQUESTS_PER_MINUTE": "100000",
        "TOKEN_ENCRYPTION_KEY": "",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def tokens_of(metrics: str, model: str) -> dict[str, int]:
    """``{prompt, completion}`` of ``model`` in a Prometheus text page."""
    out = {"prompt": 0, "completion": 0}
    for match in TOKENS_RE.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("model") != model:
            continue
        name = "prompt" if labels.get("direction") == "in" else "completion"
        out[name] += int(float(match.group("value")))
    return out


@dataclass
class Answer:
    """What the user got: the texts and key fields they see, the coverage, the quality block."""

    texts: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    # Shown too (a stream's progress lines): their keys, counts and links are checked, not their
    # language (short, and written by our code in the asked language).
    logs: list[str] = field(default_factory=list)
    coverage: dict[str, Any] | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    items: int = 0
    error: str | None = None


async def ask(client: httpx.AsyncClient, case: Case) -> Answer:
    if case.kind == "summary":
        response = await client.post(
            "/ai/summarize-jql",
            json={
                "jql": case.jql,
                "max_issues": case.max_issues,
                "language": case.language,
                "refresh": True,
            },
        )
        if response.status_code != 200:
            return Answer(error=f"HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        texts, keys = summary_visible(body)
        return Answer(
            texts=texts,
            keys=keys,
            coverage=body.get("coverage"),
            quality=body.get("quality") or {},
            items=len(texts) - 1,
        )
    if case.kind == "analysis":
        response = await client.post(
            "/ai/analyze-issue",
            json={"issue_key": case.issue_key, "language": case.language, "refresh": True},
        )
        if response.status_code != 200:
            return Answer(error=f"HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        texts, keys = analysis_visible(body)
        return Answer(
            texts=texts, keys=keys, coverage=body.get("coverage"), quality=body.get("quality") or {}
        )
    from tests.support.sse import read_events

    async with client.stream(
        "POST",
        "/ai/analyze-issue/stream",
        json={"issue_key": case.issue_key, "language": case.language},
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return Answer(error=f"HTTP {response.status_code}: {response.text[:200]}")
        stream = await read_events(response)
    errors = stream.data("error")
    if errors:
        return Answer(error=f"stream error event: {errors[-1]}")
    done = stream.data("done")
    if not done:
        return Answer(error="stream ended without a done event")
    return Answer(
        texts=stream_visible(stream.data("result")),
        logs=[str(e.get("message") or "") for e in stream.data("log")],
        coverage=done[-1].get("coverage"),
        quality=done[-1].get("quality") or {},
    )


def record_of(case: Case, model: str, facts: Facts | None, answer: Answer) -> dict[str, Any]:
    """One record of the results file (latency and tokens are added by the caller)."""
    base: dict[str, Any] = {
        "case": case.id,
        "model": model,
        "kind": case.kind,
        "language": case.language,
    }
    if facts is None or answer.error is not None:
        problem = answer.error or "no facts"
        return {
            **base,
            "scores": dict.fromkeys(SCORES, 0.0),
            "quality": answer.quality,
            "passed": False,
            "problems": [problem],
        }
    scored = score(
        texts=answer.texts,
        keys=answer.keys,
        coverage=answer.coverage,
        facts=facts,
        short_texts=answer.logs,
        items=answer.items,
    )
    return {
        **base,
        "scores": scored.scores,
        "quality": answer.quality,
        "passed": scored.passed,
        "problems": scored.problems,
        # What the user read, so a reviewer can judge the prose the scores cannot.
        "answer": answer.texts,
    }


class Stack:
    """The sandbox and the run's database; :meth:`model_pair` starts ai-service + API for one
    model."""

    def __init__(self, provider: Provider, redis_url: str) -> None:
        from tests.support.servers import start_sandbox

        self.provider = provider
        self.redis_url = redis_url
        self.sandbox = start_sandbox(SANDBOX_PACE)
        self.workdir = tempfile.mkdtemp(prefix="jira-ai-eval-")
        self.database = str(Path(self.workdir) / "eval.sqlite3")
        env = {**os.environ, **_base_env(self.sandbox.url, self.database, redis_url)}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        self.pairs = 0

    def model_pair(self, model: str) -> tuple[Any, Any]:
        from tests.support.servers import start_api, start_daphne

        env = {
            **_base_env(self.sandbox.url, self.database, self.redis_url),
            **self.provider.model_env(model, self.sandbox.url),
        }
        ai_service = start_daphne(
            "ai_service.asgi:application", {**env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
        )
        self.pairs += 1
        try:
            api = start_api(
                env,
                client_id=f"jira-ai-eval-{self.pairs}",
                extra_env={"AI_SERVICE_URL": ai_service.url},
            )
        except BaseException:
            ai_service.stop()
            raise
        return ai_service, api

    def stop(self) -> None:
        self.sandbox.stop()


def model_unready(ai_service_url: str) -> str | None:
    """Why ai-service cannot serve its model (its ``/readyz``), or None."""
    try:
        response = httpx.get(ai_service_url + "/readyz", timeout=30)
    except httpx.HTTPError as exc:
        return f"ai-service /readyz failed: {exc}"
    if response.status_code == 200:
        return None
    return f"ai-service not ready: {response.text[:300]}"


async def _run_cases(
    api_url: str, metrics_url: str, model: str, cases: list[Case], facts: dict[str, Facts | None]
) -> list[dict[str, Any]]:
    from tests.support.signin import sign_in

    records = []
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        from sandbox.atlassian.data import GLOBEX

        clients["acme"] = await sign_in(api_url, ALICE)
        clients["globex"] = await sign_in(api_url, ALICE, GLOBEX.cloud_id)
        async with httpx.AsyncClient(timeout=10) as metrics_client:
            for case in cases:
                client = clients[case.site]
                client.timeout = httpx.Timeout(REQUEST_TIMEOUT)
                before = tokens_of((await metrics_client.get(metrics_url)).text, model)
                started = time.perf_counter()
                try:
                    answer = await ask(client, case)
                except httpx.HTTPError as exc:
                    answer = Answer(error=f"{type(exc).__name__}: {exc}")
                latency = round((time.perf_counter() - started) * 1000)
                after = tokens_of((await metrics_client.get(metrics_url)).text, model)
                record = record_of(case, model, facts[case.id], answer)
                record["latency_ms"] = latency
                record["tokens"] = {k: after[k] - before[k] for k in after}
                records.append(record)
                mark = "ok " if record["passed"] else "BAD"
                print(f"  {mark} {model} {case.id} {latency} ms", flush=True)
    finally:
        for client in clients.values():
            await client.aclose()
    return records


def model_failed(model: str, cases: list[Case], why: str) -> list[dict[str, Any]]:
    return [
        {
            **record_of(case, model, None, Answer(error=why)),
            "latency_ms": 0,
            "tokens": {"prompt": 0, "completion": 0},
        }
        for case in cases
    ]


def run(*, provider: Provider, models: list[str], cases: list[Case]) -> list[dict[str, Any]]:
    """Every case on every model: the records, in model then case order."""
    redis_url = redis_url_for_run(dict(os.environ))
    stack = Stack(provider, redis_url)
    records: list[dict[str, Any]] = []
    try:
        jira = SandboxJira(stack.sandbox.url)
        try:
            facts: dict[str, Facts | None] = {c.id: case_facts(jira, c) for c in cases}
        finally:
            jira.close()
        for model in models:
            redis_flush(redis_url)
            print(f"== {model} ==", flush=True)
            ai_service, api = stack.model_pair(model)
            try:
                why = model_unready(ai_service.url)
                if why is not None:
                    print(f"  model {model} unavailable: {why}", flush=True)
                    records += model_failed(model, cases, f"{UNAVAILABLE}: {why}")
                    continue
                records += asyncio.run(
                    _run_cases(api.url, ai_service.url + "/metrics", model, cases, facts)
                )
            finally:
                api.stop()
                ai_service.stop()
    finally:
        stack.stop()
    return records


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
