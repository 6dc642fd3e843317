"""OpenTelemetry: a request through the ASGI app yields a server span (in-memory exporter).

Run in a subprocess: instrumenting Django is process-wide and must happen before the app is built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.servers import ROOT

SCRIPT = r"""
import asyncio, json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "jira_ai.settings.test"
import django
django.setup()
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from core.observability import configure_tracing
exporter = InMemorySpanExporter()
assert configure_tracing(service_name="jira-ai-api", endpoint="", exporter=exporter)
from django.core.asgi import get_asgi_application
from asgiref.testing import ApplicationCommunicator
app = get_asgi_application()

async def main():
    scope = {"type": "http", "method": "GET", "path": "/healthz", "raw_path": b"/healthz",
             "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "http_version": "1.1",
             "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
             "asgi": {"version": "3.0"}}
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": b""})
    start = await comm.receive_output(5)
    await comm.receive_output(5)
    return start["status"]

status = asyncio.run(main())
spans = [{"name": s.name, "kind": s.kind.name,
          "service": s.resource.attributes.get("service.name"),
          "route": s.attributes.get("http.route")} for s in exporter.get_finished_spans()]
print(json.dumps({"status": status, "spans": spans}))
"""


def test_a_request_produces_a_server_span() -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["status"] == 200
    server_spans = [span for span in output["spans"] if span["kind"] == "SERVER"]
    assert len(server_spans) == 1
    assert server_spans[0]["service"] == "jira-ai-api"
    assert server_spans[0]["name"].startswith("GET")


def test_tracing_stays_off_without_an_endpoint() -> None:
    script = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='jira_ai.settings.test';"
        "import django; django.setup();"
        "from core.observability import configure_tracing;"
        "print(configure_tracing(service_name='x', endpoint=''))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip() == "False"
