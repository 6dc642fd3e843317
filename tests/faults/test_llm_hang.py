"""An LLM that hangs costs one timeout, not two: the sandbox counts the calls it received and the
elapsed time stays below two timeouts (a small ``LLM_TIMEOUT_SECONDS`` in the server's env)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import read_events

TIMEOUT_SECONDS = 4.0
HANG_ENV = {
    "LLM_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    "AI_USER_REQUESTS_PER_MINUTE": "1000",
}


@pytest.fixture(scope="session")
def hang_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**HANG_ENV)


@pytest.fixture(scope="session")
def hang_remote_api(server_factory: ServerFactory) -> ServerProcess:
    service = server_factory.ai_service(**HANG_ENV)
    return server_factory.api(AI_SERVICE_URL=service.url, **HANG_ENV)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> ServerProcess:
    return request.getfixturevalue(request.param)


CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("sync", "/ai/analyze-issue", {"issue_key": "PAY-3", "refresh": True}),
    ("stream", "/ai/analyze-issue/stream", {"issue_key": "PAY-3"}),
    (
        "map-reduce",
        "/ai/summarize-jql",
        {"jql": "project = PAY", "max_issues": 150, "refresh": True},
    ),
]


@pytest.mark.parametrize("server", ["hang_api", "hang_remote_api"], indirect=True)
@pytest.mark.parametrize(("kind", "path", "body"), CALLS, ids=[c[0] for c in CALLS])
async def test_a_hanging_llm_costs_one_timeout(
    server: ServerProcess,
    kind: str,
    path: str,
    body: dict[str, Any],
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    client = await signed_in(server, ALICE)
    # A first answer warms the processes up (the language detector loads on first use), so the
    # time measured below is the fault's.
    warm = await client.post(
        "/ai/analyze-issue", json={"issue_key": "PAY-5", "refresh": True}, timeout=30
    )
    assert warm.status_code == 200, warm.text
    calls_before = sandbox.llm_requests(fast_llm)
    # Frozen as a whole: /api/ps (asked before a streamed call) and /api/show hang as well.
    sandbox.add_fault(fast_llm, "llm", mode="hang")

    started = time.monotonic()
    if kind == "stream":
        async with client.stream("POST", path, json=body, timeout=30) as answer:
            events = (await read_events(answer)).events
        status, code = answer.status_code, events[-1].json()["code"]
        assert events[-1].event == "error"
    else:
        response = await client.post(path, json=body, timeout=30)
        status, code = response.status_code, response.json()["code"]
    elapsed = time.monotonic() - started
    await sandbox.wait_for_async(fast_llm, f"llm_requests>={calls_before + 1}")
    calls = sandbox.llm_requests(fast_llm) - calls_before

    assert (status, code) == ((200, "llm_timeout") if kind == "stream" else (504, "llm_timeout"))
    assert calls == 1
    assert elapsed < 2 * TIMEOUT_SECONDS
