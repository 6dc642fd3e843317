"""Helpers of the LLM stand-in's tests: control calls, stats, waiting on the sandbox's own state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.sandbox import prompts

USER: Any = {  # Any: the SDKs type their messages each their own way
    "role": "user",
    "content": "Summarize:\n```data\nPROJ-1 [Done] Fix the login page\n"
    "PROJ-2 [To Do] Add an export button\n```",
}


def control(url: str, **knobs: Any) -> dict[str, Any]:
    response = httpx.post(f"{url}/_sandbox/llm", json=knobs, timeout=5)
    response.raise_for_status()
    return dict(response.json())


def fault(url: str, **spec: Any) -> None:
    httpx.post(f"{url}/_sandbox/faults", json={"target": "llm", **spec}).raise_for_status()


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sandbox/stats", timeout=5).json())


def runner(url: str, model: str) -> dict[str, Any]:
    view = httpx.get(f"{url}/_sandbox/llm", timeout=5).json()
    return dict(view["runners"].get(model) or {})


async def wait_for(probe: Callable[[], Any], what: str, deadline_s: float = 10.0) -> Any:
    """Poll ``probe`` (run in a thread: it makes blocking HTTP calls) until it returns a truthy
    value. The sandbox's state is the signal; the interval assumes nothing about timing."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = await asyncio.to_thread(probe)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def pay7_messages(max_chars: int = 21_000) -> list[Any]:
    """jira-ai's analysis of PAY-7 (system rules, task, allowed keys, 150 comments): about 8,000
    llama3.1 tokens, twice a stock Ollama's context."""
    return [
        {"role": "system", "content": prompts.SYSTEM_FR},
        {"role": "user", "content": prompts.analysis_prompt("PAY-7", max_chars)},
    ]
