"""TCP_NODELAY on the connections Daphne accepts.

Twisted (and so Daphne) leaves Nagle's algorithm on. An SSE stream is a run of small writes: with
Nagle on, a small event waits for the ACK of the previous one, which the client may delay, so each
event can sit in the kernel for milliseconds. Streams want each event on the wire as soon as it is
written. Called from both services' ``asgi.py``, which Daphne imports before it serves.
"""

from __future__ import annotations

from typing import Any

_enabled = False


def enable_tcp_nodelay() -> bool:
    """Patch Daphne's HTTP factory (once) so every accepted TCP connection has TCP_NODELAY."""
    global _enabled
    if _enabled:
        return True
    try:
        from daphne.http_protocol import HTTPFactory
    except ImportError:  # not served by Daphne
        return False
    build = HTTPFactory.buildProtocol

    def build_protocol(self: Any, addr: Any) -> Any:
        protocol = build(self, addr)
        if protocol is None:
            return None
        made = protocol.connectionMade

        def connection_made() -> None:
            made()
            set_nodelay = getattr(protocol.transport, "setTcpNoDelay", None)
            if set_nodelay is not None:
                set_nodelay(True)

        protocol.connectionMade = connection_made
        return protocol

    HTTPFactory.buildProtocol = build_protocol
    _enabled = True
    return True
