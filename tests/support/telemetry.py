"""What the services export: traces (an OTLP/HTTP collector on loopback) and Prometheus metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


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
        self.arrived = threading.Condition()
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
        with self.arrived:
            self.spans.extend(spans)
            self.arrived.notify_all()

    def wait_for(
        self, predicate: Callable[[list[Span]], bool], timeout: float = 10.0
    ) -> list[Span]:
        """The spans received, once ``predicate`` holds for them (woken by each export)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self.spans), timeout):
                raise AssertionError(f"spans still missing after {timeout} s: {self.spans}")
            return list(self.spans)


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` in a Prometheus text exposition, 0 when absent
    (a labelled counter appears only once incremented)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0
