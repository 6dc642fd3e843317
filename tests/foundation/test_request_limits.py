"""Twisted's request-size limits as tuned by ``core.daphne``, on both services started plainly
(``python -m daphne … <module>.asgi:application``): a 64 KiB request line and 32 KiB of headers
pass; beyond, a JSON 414 / 431 ``request_too_long`` with ``Connection: close``, not a closed
connection. Raw sockets where the exact bytes matter (a request line no client would build)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twisted.protocols.basic import LineReceiver
from twisted.web.http import HTTPChannel

from core.daphne import MAX_HEADER_BYTES, MAX_REQUEST_LINE_BYTES, TwistedChanged, twisted_check
from tests.scale import topology
from tests.support.servers import ServerProcess, free_port

KIB = 1024


def _exchange(url: str, request: bytes, timeout: float = 10.0) -> bytes:
    """Send ``request`` whole, then read the answer: up to its ``Content-Length``, or until the
    server closes (a client that half-closes first gets nothing, from Twisted: ``core.daphne``)."""
    host, port = url.removeprefix("http://").split(":")
    raw = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            raw += chunk
            head, separator, body = raw.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)\r?$", head)
            if separator and length and len(body) >= int(length.group(1)):
                break
    return raw


def _parse(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, {k.lower(): v for k, v in headers.items()}, body


def _request(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _assert_refused(raw: bytes, status_line: str) -> dict[str, object]:
    status, headers, body = _parse(raw)
    assert status == status_line
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    return dict(json.loads(body))


@pytest.fixture(params=["api", "ai_service"])
def server(request: pytest.FixtureRequest) -> ServerProcess:
    fixture = "api_server" if request.param == "api" else "ai_service_server"
    server: ServerProcess = request.getfixturevalue(fixture)
    return server


def test_a_70_kib_request_line_is_a_json_414(server: ServerProcess) -> None:
    # On a socket: httpx refuses to build a URL over 64 KiB itself.
    raw = _exchange(server.url, _request("/healthz?q=" + "a" * (70 * KIB)))

    assert _assert_refused(raw, "HTTP/1.1 414 URI Too Long") == {
        "detail": f"Request line over {MAX_REQUEST_LINE_BYTES} bytes: send a long JQL in a "
        "POST body.",
        "code": "request_too_long",
    }


def test_a_request_line_longer_than_any_buffer_is_a_json_414(server: ServerProcess) -> None:
    # Refused before its end arrives (Twisted's lineLengthExceeded), the rest read and dropped.
    raw = _exchange(server.url, _request("/healthz?q=" + "a" * (1024 * KIB)))

    assert _assert_refused(raw, "HTTP/1.1 414 URI Too Long")["code"] == "request_too_long"


def test_a_request_line_of_60_kib_passes(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/healthz", params={"q": "a" * (60 * KIB)}, timeout=10)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_40_kib_header_is_a_json_431(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/healthz", headers={"X-Big": "b" * (40 * KIB)}, timeout=10)

    assert response.status_code == 431
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    assert response.json() == {
        "detail": f"Request headers over {MAX_HEADER_BYTES} bytes.",
        "code": "request_too_long",
    }


def test_headers_that_add_up_over_32_kib_are_a_json_431(server: ServerProcess) -> None:
    headers = [f"X-Part-{n}: " + "c" * (5 * KIB) for n in range(7)]

    raw = _exchange(server.url, _request("/healthz", *headers))

    assert _assert_refused(raw, "HTTP/1.1 431 Request Header Fields Too Large")["code"] == (
        "request_too_long"
    )


def test_a_header_line_longer_than_any_buffer_is_a_json_431(server: ServerProcess) -> None:
    raw = _exchange(server.url, _request("/healthz", "X-Big: " + "b" * (1024 * KIB)))

    assert _assert_refused(raw, "HTTP/1.1 431 Request Header Fields Too Large")["code"] == (
        "request_too_long"
    )


def test_a_30_kib_header_line_passes(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/healthz", headers={"X-Big": "b" * (30 * KIB)}, timeout=10)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_connection_still_serves_requests_after_a_long_one(api_server: ServerProcess) -> None:
    # The limits count per request: a keep-alive connection's second request starts from zero.
    with httpx.Client(base_url=api_server.url, timeout=10) as client:
        first = client.get("/healthz", headers={"X-Big": "b" * (30 * KIB)})
        second = client.get("/healthz", headers={"X-Big": "b" * (30 * KIB)})

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers.get("connection") != "close"


def test_a_twisted_that_no_longer_reads_the_patched_names_fails_loudly() -> None:
    class Channel(HTTPChannel):
        def lineReceived(self, line: bytes) -> None:  # a rewrite that counts otherwise
            return None

    with pytest.raises(TwistedChanged) as raised:
        twisted_check(Channel, LineReceiver)

    assert str(raised.value) == (
        "HTTPChannel.lineReceived no longer reads ['_receivedHeaderSize', 'totalHeadersSize']"
    )


def test_a_twisted_without_the_patched_attributes_fails_loudly() -> None:
    class Receiver:
        def dataReceived(self, data: bytes) -> None:
            return None

    with pytest.raises(TwistedChanged) as raised:
        twisted_check(HTTPChannel, Receiver)

    assert str(raised.value) == "Receiver.MAX_LENGTH is gone"


@pytest.fixture(scope="module")
def balancer(api_server: ServerProcess, ai_service_server: ServerProcess) -> Iterator[str]:
    """HAProxy with ``deploy/haproxy.cfg``, in front of the session's API and ai-service."""
    binary = topology.haproxy_binary()
    api_port, ai_port = free_port(), free_port()
    config = Path(tempfile.mkdtemp(prefix="jira-ai-haproxy-")) / "haproxy.cfg"
    config.write_text(topology.render(api_port, ai_port, [api_server.url], [ai_service_server.url]))
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout or ()), daemon=True).start()
    try:
        topology.wait_healthy(f"http://127.0.0.1:{api_port}")
        yield f"http://127.0.0.1:{api_port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_balancer_passes_a_70_kib_request_line_to_daphnes_json_414(balancer: str) -> None:
    raw = _exchange(balancer, _request("/healthz?q=" + "a" * (70 * KIB)))

    status, headers, body = _parse(raw)
    assert status == "HTTP/1.1 414 URI Too Long"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == "request_too_long"


def test_the_balancer_passes_a_40_kib_header_to_daphnes_json_431(balancer: str) -> None:
    raw = _exchange(balancer, _request("/healthz", "X-Big: " + "b" * (40 * KIB)))

    status, _, body = _parse(raw)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert json.loads(body)["code"] == "request_too_long"


def test_the_balancer_passes_the_largest_accepted_request(balancer: str) -> None:
    request = _request(
        "/healthz?q=" + "a" * (60 * KIB), "X-Big: " + "b" * (30 * KIB), "Connection: close"
    )

    status, _, body = _parse(_exchange(balancer, request))

    assert status == "HTTP/1.1 200 OK"
    assert b'"status": "ok"' in body
