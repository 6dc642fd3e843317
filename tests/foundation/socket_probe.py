"""A bare ASGI app for Daphne that answers with the TCP options of the connection it was asked on,
read with ``getsockopt`` on the socket Twisted accepted: what plain Daphne does to a connection,
with nothing of ours loaded."""

from __future__ import annotations

import gc
import json
import socket
from typing import Any


def _accepted_socket(peer: tuple[str, int]) -> socket.socket:
    from twisted.internet import tcp

    # Looked up among all live objects: Twisted may have paused reading on the connection while
    # it serves the request, which takes it out of the reactor's reader list.
    for obj in gc.get_objects():
        if isinstance(obj, tcp.Server) and obj.connected and tuple(obj.client) == peer:
            return obj.socket
    raise LookupError(f"no accepted connection from {peer}")


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    host, port = scope["client"]
    sock = _accepted_socket((host, port))
    body = json.dumps(
        {"tcp_nodelay": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
