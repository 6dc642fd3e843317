"""The /ai/* suites: the public API under Daphne in each AI mode, signed-in clients, SSE reading,
and a tiny OTLP collector to check trace propagation.

API processes (each with its own OAuth client in the sandbox, ``tests.servers.start_api``):
``api_server`` (session-wide: local engine), ``remote_api`` (through a traced ai-service, tracing on
in both), ``canary_api`` (50% of accounts to ai-service), ``tight_api`` (local engine with a short
LLM timeout, a small context, a small quota, one stream, a small body cap, fast keepalives) and
``tight_remote_api`` (through an ai-service with a short LLM timeout and a small context).
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.ai_service.conftest import SSE, llm_pace, sse_read
from tests.servers import ServerProcess, start_api, start_daphne

ALICE = "712020:alice-0001"  # ACME (PAY, MOB) and GLOBEX; canary bucket 21: ai-service at 50%
BRUNO = "712020:bruno-0002"  # ACME (MOB); canary bucket 76: local at 50%
CHLOE = "712020:chloe-0003"  # GLOBEX (OPS, DATA); canary bucket 70: local at 50%


# -- an OTLP/HTTP collector ------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int  # OTLP: 2 server, 3 client
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


class Collector:
    """Receives ``POST /v1/traces`` (protobuf) from both services and keeps the spans."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                    ExportTraceServiceResponse,
                )

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, request: Any) -> None:
        spans = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        Span(
                            service=service,
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={
                                a.key: a.value.string_value or a.value.int_value
                                for a in span.attributes
                            },
                        )
                    )
        with self.lock:
            self.spans.extend(spans)

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


@pytest.fixture(scope="session")
def otlp_collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.server.shutdown()


# -- servers -----------------------------------------------------------------------------------


def _tracing(collector: Collector, service: str) -> dict[str, str]:
    # A short batch delay so that spans reach the collector within the test's deadline.
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }


def _ai_service(api_env: dict[str, str], **extra: str) -> ServerProcess:
    return start_daphne(
        "ai_service.asgi:application",
        {**api_env, "DJANGO_SETTINGS_MODULE": "ai_service.settings", **extra},
    )


@pytest.fixture(scope="session")
def traced_ai_service(
    api_env: dict[str, str], otlp_collector: Collector
) -> Iterator[ServerProcess]:
    server = _ai_service(api_env, **_tracing(otlp_collector, "test-ai-service"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def remote_api(
    api_env: dict[str, str], traced_ai_service: ServerProcess, otlp_collector: Collector
) -> Iterator[ServerProcess]:
    server = start_api(
        api_env,
        client_id="jira-ai-tests-remote",
        extra_env={
            "AI_SERVICE_URL": traced_ai_service.url,
            **_tracing(otlp_collector, "test-api"),
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def canary_api(
    api_env: dict[str, str], ai_service_server: ServerProcess
) -> Iterator[ServerProcess]:
    server = start_api(
        api_env,
        client_id="jira-ai-tests-canary",
        extra_env={"AI_SERVICE_URL": ai_service_server.url, "AI_SERVICE_CANARY_PERCENT": "50"},
    )
    yield server
    server.stop()


TIGHT = {
    "LLM_TIMEOUT_SECONDS": "1",
    "LLM_CONTEXT_TOKENS": "2000",
    "AI_USER_REQUESTS_PER_MINUTE": "3",
    "AI_MAX_STREAMS": "1",
    "AI_MAX_BODY_BYTES": "2048",
    "AI_KEEPALIVE_SECONDS": "0.2",
}


@pytest.fixture(scope="session")
def tight_api(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    server = start_api(api_env, client_id="jira-ai-tests-tight", extra_env=TIGHT)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tight_ai_service(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    server = _ai_service(api_env, LLM_TIMEOUT_SECONDS="1", LLM_CONTEXT_TOKENS="2000")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tight_remote_api(
    api_env: dict[str, str], tight_ai_service: ServerProcess
) -> Iterator[ServerProcess]:
    server = start_api(
        api_env,
        client_id="jira-ai-tests-tight-remote",
        extra_env={"AI_SERVICE_URL": tight_ai_service.url, "AI_USER_REQUESTS_PER_MINUTE": "1000"},
    )
    yield server
    server.stop()


# -- per test ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def ai_state_clean() -> None:
    """Each test starts with no AI cache entry, no quota used and no LLM slot held by a server of
    an earlier run (all live in the shared Redis)."""
    from core.redis import get_async_redis

    redis = get_async_redis()
    for pattern in ("ai:*", "quota:ai*", "llm:limit:*"):
        keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
def fast_llm(sandbox_url: str) -> str:
    llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


SignIn = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def signed_in(sandbox_url: str) -> AsyncIterator[SignIn]:
    """``client = await signed_in(server, ALICE, cloud_id=None)``: a real sign-in on ``server``
    (after the sandbox reset, which forgets earlier tokens); clients closed at teardown."""
    from tests.signin import sign_in

    clients: list[httpx.AsyncClient] = []

    async def _sign_in(
        server: ServerProcess, account_id: str, cloud_id: str | None = None
    ) -> httpx.AsyncClient:
        client = await sign_in(server.url, account_id, cloud_id)
        client.timeout = httpx.Timeout(30)
        clients.append(client)
        return client

    yield _sign_in
    for client in clients:
        await client.aclose()


async def stream_events(response: httpx.Response) -> list[SSE]:
    """Every event and comment of an SSE response, read to its end."""
    return list(sse_read([line async for line in response.aiter_lines()]))


def event_data(events: list[SSE], name: str) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in events if e.event == name]


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of a Prometheus exposition, 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            sample_labels = line[len(name) + 1 : line.index("}")]
            parts = sorted(sample_labels.split(","))
            if ",".join(parts) == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0
