"""Twisted's request-size limits, as Daphne runs them: raised, and answered in JSON.

Why: Daphne serves HTTP/1.1 with Twisted's ``HTTPChannel``, whose limits are both 16,384 bytes
(``LineReceiver.MAX_LENGTH`` per line, ``HTTPChannel.totalHeadersSize`` for the request line plus
all header lines) and which Daphne exposes through no option. Beyond them Twisted closes the
connection (a line too long) or answers a bare ``400`` and closes (headers too large): a client
gets no HTTP answer it can show. A long JQL in ``GET /jira/search`` (16,355 characters) hit it.

What :func:`tune_twisted` patches (Twisted 26.10, Daphne 4.2), on the class, once per process:

- ``HTTPChannel.MAX_LENGTH`` = :data:`MAX_REQUEST_LINE_BYTES` (64 KiB) and ``totalHeadersSize``
  = 64 KiB + :data:`MAX_HEADER_BYTES` (32 KiB), so that Twisted's own checks never fire first;
- ``HTTPChannel.lineReceived``, wrapped: a request line over 64 KiB, or header lines adding up
  to more than 32 KiB (counted as Twisted counts, without the CRLFs), are refused;
- ``HTTPChannel.lineLengthExceeded`` (a line over ``MAX_LENGTH`` before its end arrived), which
  closed the connection silently, now refuses too.

A refusal is a JSON ``414 {"code": "request_too_long"}`` (request line) or ``431`` with the same
code (headers; the one code of the registry for both, ``core.errors``), with ``Connection:
close``. It is written before any Django code runs (there is no request to hand to it), so it
carries only the headers written here. Then the write side is closed and what the client still
sends is read and dropped for at most :data:`LINGER_SECONDS`: closing a socket with unread data
sends a TCP reset, which can destroy the answer in the client's buffers before it reads it (the
"lingering close" of Apache and nginx). A client that half-closes its side before reading (rare;
HTTP clients do not) still gets nothing: Twisted drops unwritten data when it reads the end of a
connection whose protocol is not half-closeable, as it does for its own 400s.

Guarded: if Twisted renames what this relies on (the attributes, or the names its
``lineReceived`` / ``LineReceiver.dataReceived`` read), :func:`tune_twisted` raises at import of
the ``asgi`` module, so Daphne fails to start instead of silently dropping connections again.
Only HTTP/1.1 is concerned: Daphne's HTTP/2 (TLS + ALPN) uses h2's own limits.

Both ``jira_ai/asgi.py`` and ``ai_service/asgi.py`` call it at import, so that it holds when Daphne
is started plainly (``daphne jira_ai.asgi:application``). The load balancers in ``deploy/`` use
``tune.bufsize 131072``, enough for 64 KiB + 32 KiB, so that they do not answer first.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import ErrorCode

MAX_REQUEST_LINE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 32 * 1024
LINGER_SECONDS = 5

_PATCHED = "_jira_ai_tuned"
# What the wrapped code must still read for the patch to mean what it says.
_EXPECTED_NAMES = {
    "HTTPChannel.lineReceived": {"_receivedHeaderSize", "totalHeadersSize"},
    "LineReceiver.dataReceived": {"MAX_LENGTH", "lineLengthExceeded"},
}


class TwistedChanged(RuntimeError):
    """Twisted no longer has what :func:`tune_twisted` patches: review this module."""


def _refusal(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps({"detail": detail, "code": ErrorCode.REQUEST_TOO_LONG}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


REQUEST_LINE_REFUSAL = _refusal(
    414,
    "URI Too Long",
    f"Request line over {MAX_REQUEST_LINE_BYTES} bytes: send a long JQL in a POST body.",
)
HEADERS_REFUSAL = _refusal(
    431, "Request Header Fields Too Large", f"Request headers over {MAX_HEADER_BYTES} bytes."
)


def _discard(*args: Any) -> None:
    return None


def _refuse(channel: Any, answer: bytes) -> None:
    """Answer, stop parsing, half-close, drain for a while (see the module's docstring)."""
    channel.dataReceived = channel.lineReceived = _discard
    transport = channel.transport
    transport.write(answer)
    lose_write = getattr(transport, "loseWriteConnection", None)
    if lose_write is None:  # a transport without half-close (TLS): close as Twisted would
        channel.loseConnection()
        return
    lose_write()
    # TimeoutMixin: closes the connection after LINGER_SECONDS (``dataReceived`` no longer
    # resets it), and aborts it ``abortTimeout`` later if the peer still holds it.
    channel.setTimeout(LINGER_SECONDS)


def twisted_check(channel: type, line_receiver: type) -> None:
    """Raise :class:`TwistedChanged` unless ``channel`` (``HTTPChannel``) and ``line_receiver``
    (``LineReceiver``) still have, and read, what :func:`tune_twisted` patches."""
    for owner in (channel, line_receiver):
        if not hasattr(owner, "MAX_LENGTH"):
            raise TwistedChanged(f"{owner.__name__}.MAX_LENGTH is gone")
    for attribute in ("totalHeadersSize", "_receivedHeaderSize", "lineLengthExceeded"):
        if not hasattr(channel, attribute):
            raise TwistedChanged(f"HTTPChannel.{attribute} is gone")
    functions = {
        "HTTPChannel.lineReceived": getattr(channel, "lineReceived", None),
        "LineReceiver.dataReceived": getattr(line_receiver, "dataReceived", None),
    }
    for name, function in functions.items():
        code = getattr(function, "__code__", None)
        if code is None:
            raise TwistedChanged(f"{name} is gone")
        missing = _EXPECTED_NAMES[name] - set(code.co_names)
        if missing:
            raise TwistedChanged(f"{name} no longer reads {sorted(missing)}")


def tune_twisted() -> None:
    """Apply the limits and answers above to Twisted's ``HTTPChannel`` (idempotent)."""
    from twisted.protocols.basic import LineReceiver
    from twisted.web.http import HTTPChannel

    if getattr(HTTPChannel, _PATCHED, False):
        return
    twisted_check(HTTPChannel, LineReceiver)

    line_received = HTTPChannel.lineReceived

    def lineReceived(self: Any, line: bytes) -> Any:
        # ``_receivedHeaderSize`` is 0 until the request line (Twisted resets it per request;
        # the empty line some clients send before a request adds nothing).
        # A line over MAX_LENGTH never gets here (lineLengthExceeded instead).
        if self._receivedHeaderSize == 0:
            self._jira_ai_request_line = len(line)
        elif self._receivedHeaderSize + len(line) - self._jira_ai_request_line > MAX_HEADER_BYTES:
            return _refuse(self, HEADERS_REFUSAL)
        return line_received(self, line)

    def lineLengthExceeded(self: Any, line: bytes) -> None:
        first = self._receivedHeaderSize == 0
        _refuse(self, REQUEST_LINE_REFUSAL if first else HEADERS_REFUSAL)

    patches = {
        "MAX_LENGTH": MAX_REQUEST_LINE_BYTES,
        "totalHeadersSize": MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES,
        "_jira_ai_request_line": 0,
        "lineReceived": lineReceived,
        "lineLengthExceeded": lineLengthExceeded,
        _PATCHED: True,
    }
    for attribute, value in patches.items():
        setattr(HTTPChannel, attribute, value)
