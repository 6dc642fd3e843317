"""Server-sent events read by ``httpx-sse``, as our streams' clients read them.

``httpx-sse`` hands over events (name, data, id) and, as the WHATWG parser must, drops comment
lines. Our streams' comments are part of their contract (``: ok`` opens every stream at once,
``: keepalive`` fills idle time), so :class:`SSEReader` also keeps the raw lines that went by,
read from the same bytes the events were decoded from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent


class _Tap(httpx.AsyncByteStream):
    """The body of ``source``, passed through and recorded into ``raw``."""

    def __init__(self, source: httpx.Response, raw: bytearray) -> None:
        self.source = source
        self.raw = raw

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.source.aiter_bytes():
            self.raw.extend(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.source.aclose()


class SSEReader:
    """The events of a streamed ``text/event-stream`` response, each as soon as it is complete
    (``async for event in stream``), or all of them (``await stream.read()``); ``events`` holds
    those read so far and ``lines`` every complete line received so far."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: list[ServerSentEvent] = []
        self._raw = bytearray()
        tapped = httpx.Response(
            response.status_code, headers=response.headers, stream=_Tap(response, self._raw)
        )
        self._source = EventSource(tapped).aiter_sse()

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        return self

    async def __anext__(self) -> ServerSentEvent:
        event = await anext(self._source)
        while event.data == "":
            # httpx-sse 0.4 dispatches an empty event at the blank line after a comment once an
            # id was seen; the WHATWG parser dispatches nothing there (an empty data buffer).
            event = await anext(self._source)
        self.events.append(event)
        return event

    async def read(self) -> list[ServerSentEvent]:
        """Every event, to the end of the body."""
        async for _event in self:
            pass
        return self.events

    @property
    def lines(self) -> list[str]:
        text = self._raw.decode("utf-8", errors="replace")
        return text.split("\n")[:-1]

    @property
    def comments(self) -> list[str]:
        """The comment lines so far, without their colon (``["ok", "keepalive", ...]``)."""
        return [line[1:].strip() for line in self.lines if line.startswith(":")]

    def data(self, name: str) -> list[Any]:
        """The JSON data of the events named ``name`` read so far."""
        return [event.json() for event in self.events if event.event == name]

    def ids(self) -> list[int]:
        return [int(event.id) for event in self.events]


async def read_events(response: httpx.Response) -> SSEReader:
    """The whole stream of ``response``, read to its end."""
    stream = SSEReader(response)
    await stream.read()
    return stream
