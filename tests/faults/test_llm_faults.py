"""Every LLM fault of the sandbox, during a synchronous analysis, a streamed one and a map-reduce
summary, on the API with the local engine: the documented status and code (``retry_after`` where
the fault carries one), and no LLM answer left in flight afterwards."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import read_events

FAULT_ENV = {"LLM_TIMEOUT_SECONDS": "3", "AI_USER_REQUESTS_PER_MINUTE": "1000"}

# (id, fault, HTTP status of a synchronous call, code, retry_after or None)
FAULTS: list[tuple[str, dict[str, Any], int, str, int | None]] = [
    # Beyond the summary's rate-limit wait budget (90 s): passed on, with the vendor's value.
    ("429", {"mode": "status", "status": 429, "retry_after": 600}, 503, "llm_rate_limited", 600),
    ("500", {"mode": "status", "status": 500}, 502, "llm_unavailable", None),
    ("503", {"mode": "status", "status": 503, "retry_after": 9}, 502, "llm_unavailable", 9),
    ("hang", {"mode": "hang"}, 504, "llm_timeout", None),
    ("malformed", {"mode": "malformed"}, 502, "llm_invalid_output", None),
    ("cut_stream", {"mode": "cut_stream"}, 502, "llm_unavailable", None),
    ("runner_crash", {"mode": "runner_crash"}, 502, "llm_unavailable", None),
    ("stream_error", {"mode": "stream_error"}, 502, "llm_unavailable", None),
]
KINDS = ["sync", "stream", "map-reduce"]


@pytest.fixture(scope="session")
def fault_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**FAULT_ENV)


async def _nothing_in_flight(sandbox_url: str, timeout: float = 5.0) -> int:
    """The LLM answers still being written once they are all gone, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    active = sandbox.llm_active(sandbox_url)
    while active and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # polling interval of a wait with a deadline
        active = sandbox.llm_active(sandbox_url)
    return active


async def _outcome(client: httpx.AsyncClient, kind: str) -> tuple[int, dict[str, Any], str | None]:
    """(HTTP status, the error's JSON, the Retry-After header) of one call of ``kind``."""
    if kind == "stream":
        async with client.stream(
            "POST", "/ai/analyze-issue/stream", json={"issue_key": "PAY-3"}, timeout=30
        ) as answer:
            events = (await read_events(answer)).events
        assert events[-1].event == "error", [e.event for e in events]
        assert "done" not in [e.event for e in events]
        return answer.status_code, events[-1].json(), None
    if kind == "sync":
        response = await client.post(
            "/ai/analyze-issue", json={"issue_key": "PAY-3", "refresh": True}, timeout=30
        )
    else:
        response = await client.post(
            "/ai/summarize-jql",
            json={"jql": "project = PAY", "max_issues": 150, "refresh": True},
            timeout=60,
        )
    return response.status_code, response.json(), response.headers.get("Retry-After")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [f[1:] for f in FAULTS],
    ids=[f[0] for f in FAULTS],
)
async def test_an_llm_fault_is_its_documented_error(
    fault_api: ServerProcess,
    kind: str,
    fault: dict[str, Any],
    status: int,
    code: str,
    retry_after: int | None,
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    client = await signed_in(fault_api, ALICE)
    sandbox.add_fault(fast_llm, "llm", path_regex="^/api/chat$", **fault)

    got_status, error, header = await _outcome(client, kind)

    assert got_status == (200 if kind == "stream" else status), error
    assert error["code"] == code
    assert isinstance(error["detail"], str)
    assert error["detail"] != ""
    if kind == "stream":
        assert error.get("retry_after") == retry_after
    else:
        assert header == (None if retry_after is None else str(retry_after))
    assert await _nothing_in_flight(fast_llm) == 0
