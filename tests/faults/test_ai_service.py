"""ai-service killed (SIGKILL) during a streamed analysis: the API's stream ends with an
``error`` event at once, the next requests are a clear 503, or, with ``AI_SERVICE_FALLBACK=local``,
the local engine's answer, counted in ``jira_ai_ai_service_fallback_total``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.servers import ServerFactory, ServerProcess, free_port, start_daphne
from tests.support.signin import SignIn
from tests.support.sse import SSEReader
from tests.support.telemetry import metric_value

FALLBACK_METRIC = "jira_ai_ai_service_fallback_total"


@pytest.fixture(scope="module")
def doomed_ai_service_port() -> int:
    return free_port()


@pytest.fixture
def doomed_ai_service(
    server_factory: ServerFactory, doomed_ai_service_port: int
) -> Iterator[ServerProcess]:
    """An ai-service of this test's own (killing the session's would break other suites)."""
    env = {**server_factory.env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
    server = start_daphne("ai_service.asgi:application", env, port=doomed_ai_service_port)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def doomed_api(server_factory: ServerFactory, doomed_ai_service_port: int) -> ServerProcess:
    return server_factory.api(
        AI_SERVICE_URL=f"http://127.0.0.1:{doomed_ai_service_port}",
        AI_USER_REQUESTS_PER_MINUTE="1000",
    )


@pytest.fixture(scope="module")
def fallback_api(server_factory: ServerFactory) -> ServerProcess:
    """An API whose ai-service does not listen (a port nobody binds), falling back to local."""
    return server_factory.api(
        AI_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
        AI_SERVICE_FALLBACK="local",
        AI_USER_REQUESTS_PER_MINUTE="1000",
    )


async def test_ai_service_killed_mid_stream_is_an_error_event_then_503(
    doomed_api: ServerProcess,
    doomed_ai_service: ServerProcess,
    signed_in: SignIn,
    sandbox_url: str,
) -> None:
    client = await signed_in(doomed_api, ALICE)
    # Slow enough that the analysis is still being written when ai-service dies.
    sandbox.llm_pace(sandbox_url, tokens_per_second=20, first_token_ms=0)

    async with client.stream(
        "POST", "/ai/analyze-issue/stream", json={"issue_key": "PAY-3"}
    ) as answer:
        stream = SSEReader(answer)
        async for event in stream:
            if event.event == "delta":
                break
        doomed_ai_service.process.kill()
        async with asyncio.timeout(5):
            rest = [event async for event in stream]
    after = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3", "refresh": True})

    assert answer.status_code == 200
    assert [e.event for e in rest][-1] == "error"
    assert rest[-1].json()["code"] == "ai_service_unavailable"
    assert "done" not in [e.event for e in rest]
    assert after.status_code == 503
    assert after.json() == {
        "detail": "The AI service is unavailable.",
        "code": "ai_service_unavailable",
    }
    await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1")  # ai-service's call is gone


@pytest.mark.usefixtures("fast_llm")
async def test_an_unreachable_ai_service_falls_back_to_the_local_engine_metered(
    fallback_api: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(fallback_api, ALICE)
    async with httpx.AsyncClient(base_url=fallback_api.url, timeout=5) as probe:
        before = (await probe.get("/metrics")).text

        answer = await client.post(
            "/ai/analyze-issue", json={"issue_key": "PAY-3", "refresh": True}
        )
        async with client.stream(
            "POST", "/ai/analyze-issue/stream", json={"issue_key": "PAY-4"}
        ) as streamed:
            events = await SSEReader(streamed).read()
        after = (await probe.get("/metrics")).text

    assert answer.status_code == 200, answer.text
    assert answer.json()["issue_key"] == "PAY-3"
    assert [e.event for e in events][-1] == "done"
    for endpoint in ("analyze-issue", "analyze-issue/stream"):
        counted = metric_value(after, FALLBACK_METRIC, endpoint=endpoint) - metric_value(
            before, FALLBACK_METRIC, endpoint=endpoint
        )
        assert counted == 1, endpoint
