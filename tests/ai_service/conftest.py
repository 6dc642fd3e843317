"""Helpers of the ai-service and engine suites: the sandbox LLM's pace, faults and stats; an
engine configuration pointed at it; synthetic normalized issues; SSE reading; service tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ai_service.contract.schemas import NormalizedIssue
from ai_service.contract.tokens import service_token_issue
from ai_service.engine import EngineConfig

SECRET = "test-shared-secret-1"


def llm_pace(sandbox_url: str, *, tokens_per_second: float, first_token_ms: int = 0) -> None:
    httpx.post(
        sandbox_url + "/_sandbox/llm",
        json={"tokens_per_second": tokens_per_second, "first_token_ms": first_token_ms},
        timeout=5,
    ).raise_for_status()


def llm_fault(sandbox_url: str, **fault: Any) -> None:
    httpx.post(
        sandbox_url + "/_sandbox/faults", json={"target": "llm", **fault}, timeout=5
    ).raise_for_status()


def sandbox_stats(sandbox_url: str) -> dict[str, Any]:
    response = httpx.get(sandbox_url + "/_sandbox/stats", timeout=5)
    response.raise_for_status()
    return dict(response.json())


def wait_until(predicate: Callable[[], bool], *, deadline_seconds: float = 10.0) -> bool:
    """Poll ``predicate`` until true or the deadline (a readiness poll, not a timing bet)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def fast_llm(sandbox_url: str) -> str:
    llm_pace(sandbox_url, tokens_per_second=50_000)
    return sandbox_url


@pytest.fixture
def engine_config(sandbox_url: str) -> EngineConfig:
    return EngineConfig(
        provider="ollama",
        ollama_base_url=sandbox_url,
        ollama_model="llama3.1:8b",
        timeout_seconds=5.0,
        context_tokens=8000,
        max_streams=20,
    )


def make_issue(n: int, *, project: str = "PAY", **fields: Any) -> NormalizedIssue:
    statuses = ("To Do", "In Progress", "Done")
    values: dict[str, Any] = {
        "key": f"{project}-{n}",
        "url": f"https://example.atlassian.net/browse/{project}-{n}",
        "summary": f"Synthetic issue number {n}",
        "status": statuses[n % 3],
        "status_category": ("new", "indeterminate", "done")[n % 3],
        "priority": ("High", "Medium", None)[n % 3],
        "issue_type": ("Story", "Bug")[n % 2],
        "assignee": ("Alice Martin", "Bob Leroy", None, "Chloé Dubois")[n % 4],
        "reporter": "Alice Martin",
        "labels": ["backend"] if n % 2 else [],
        "created": "2026-01-05T10:00:00+00:00",
        "updated": "2026-02-01T10:00:00+00:00",
        "description": f"Description of issue {n}.",
    }
    values.update(fields)
    return NormalizedIssue.model_validate(values)


def issues_payload(issues: Iterable[NormalizedIssue]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in issues]


def bearer(secret: str = SECRET, account_id: str = "acc-1") -> dict[str, str]:
    token = service_token_issue(account_id=account_id, secrets=[secret])
    return {"Authorization": f"Bearer {token}"}


@dataclass
class SSE:
    """One server-sent event (``comment`` set for comment lines)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None


def sse_read(lines: Iterable[str]) -> Iterator[SSE]:
    """WHATWG-style parsing of ``lines``; comments are yielded too (to see keepalives)."""
    current = SSE()
    has_fields = False
    for line in lines:
        if line == "":
            if has_fields:
                yield current
            current, has_fields = SSE(), False
            continue
        if line.startswith(":"):
            yield SSE(event="", comment=line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        has_fields = True
        if name == "event":
            current.event = value
        elif name == "data":
            current.data = f"{current.data}\n{value}" if current.data else value
        elif name == "id":
            current.id = value


@pytest.fixture
def redis_url() -> str:
    """The tests' own Redis database (what the services get as REDIS_URL)."""
    from django.conf import settings

    return str(settings.REDIS_URL)
