"""The /ai/* suites: the public API under Daphne in each AI mode, and an OTLP collector to check
trace propagation. Every process comes from ``server_factory`` (once per session each):

``api_server`` (local engine), ``remote_api`` (through a traced ai-service, tracing on in both),
``canary_api`` (50% of accounts to ai-service), ``tight_api`` (local engine with a short LLM
timeout, a small context, a small quota, one stream, a small body cap, fast keepalives),
``tight_remote_api`` (through an ai-service with a short LLM timeout, a small context and fast
keepalives) and
``orphan_api`` (its ai-service does not listen). A test over several of them takes ``server``,
parametrized indirectly by fixture name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.keys import forget_keys
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.telemetry import Collector

TIGHT = {
    "LLM_TIMEOUT_SECONDS": "1",
    "LLM_CONTEXT_TOKENS": "2000",
    "AI_USER_REQUESTS_PER_MINUTE": "3",
    "AI_MAX_STREAMS": "1",
    "AI_MAX_BODY_BYTES": "2048",
    "AI_KEEPALIVE_SECONDS": "0.2",
}


@pytest.fixture(scope="session")
def otlp_collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.server.shutdown()


def _tracing(collector: Collector, service: str) -> dict[str, str]:
    # A short batch delay so that spans reach the collector within the test's deadline.
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }


@pytest.fixture(scope="session")
def traced_ai_service(server_factory: ServerFactory, otlp_collector: Collector) -> ServerProcess:
    return server_factory.ai_service(**_tracing(otlp_collector, "test-ai-service"))


@pytest.fixture(scope="session")
def remote_api(
    server_factory: ServerFactory, traced_ai_service: ServerProcess, otlp_collector: Collector
) -> ServerProcess:
    return server_factory.api(
        AI_SERVICE_URL=traced_ai_service.url, **_tracing(otlp_collector, "test-api")
    )


@pytest.fixture(scope="session")
def canary_api(server_factory: ServerFactory, ai_service_server: ServerProcess) -> ServerProcess:
    return server_factory.api(AI_SERVICE_URL=ai_service_server.url, AI_SERVICE_CANARY_PERCENT="50")


@pytest.fixture(scope="session")
def tight_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**TIGHT)


@pytest.fixture(scope="session")
def tight_remote_api(server_factory: ServerFactory) -> ServerProcess:
    service = server_factory.ai_service(
        LLM_TIMEOUT_SECONDS="1", LLM_CONTEXT_TOKENS="2000", AI_KEEPALIVE_SECONDS="0.2"
    )
    return server_factory.api(AI_SERVICE_URL=service.url, AI_USER_REQUESTS_PER_MINUTE="1000")


@pytest.fixture(scope="session")
def orphan_api(server_factory: ServerFactory) -> ServerProcess:
    """An API whose ai-service does not listen (a port nobody binds)."""
    return server_factory.api(AI_SERVICE_URL="http://127.0.0.1:9")


@pytest.fixture
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The API process named by the indirect parameter (``api_server``, ``remote_api``...)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(autouse=True)
async def ai_state_clean() -> None:
    """Each test starts with no AI cache entry, no quota used and no LLM slot held by a server of
    an earlier run (all live in the shared Redis)."""
    await forget_keys("ai:*", "quota:ai*", "llm:limit:*")
