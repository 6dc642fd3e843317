"""The one factory for outbound HTTP clients of the public API.

Explicit connect/read/pool timeouts, no redirects, a User-Agent, pools sized for the streams we
allow (httpx's default of 100 connections with a 5 s pool timeout would make a burst of streams wait
and fail), and an injectable transport for tests.
"""

from __future__ import annotations

import httpx

USER_AGENT = "jira-ai/0.1 (+https://github.com/jira-ai)"


def build_async_client(
    *,
    base_url: str = "",
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    pool_timeout: float = 10.0,
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=pool_timeout
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        transport=transport,
    )
