"""Jira client tests: the sandbox as the real peer, tokens obtained from it directly (no app
session), real Redis for the cache and the breaker."""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from accounts.context import UserContext
from core.redis import get_async_redis
from jira.breaker import Breaker
from jira.client import JiraClient, JiraClientConfig

ACME = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:acme"))
GLOBEX = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:globex"))
ALICE = "712020:alice-0001"
BRUNO = "712020:bruno-0002"
CLIENT_ID = "jira-ai-demo"
CLIENT_SECRET = "jira-ai-demo-secret"  # the sandbox's fixed demo app, not a secret
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
SCOPE = "read:jira-work read:jira-user offline_access"
_sequence = itertools.count()


def sandbox_tokens(sandbox_url: str, account_id: str) -> dict[str, Any]:
    """The OAuth dance against the sandbox: consent form POST -> code -> tokens."""
    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        consent = http.post(
            "/authorize",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "scope": SCOPE,
                "state": secrets.token_urlsafe(8),
                "audience": "api.atlassian.com",
                "response_type": "code",
                "prompt": "consent",
                "account_id": account_id,
                "decision": "accept",
            },
        )
        assert consent.status_code == 302, consent.text
        code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
        token = http.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "code": code,
                "redirect_uri": REDIRECT_URI,
            },
        )
        assert token.status_code == 200, token.text
        return dict(token.json())


@dataclass
class TokenSource:
    """A token provider over sandbox tokens; counts forced refreshes."""

    sandbox_url: str
    account_id: str
    token: str = ""
    forced: int = 0
    calls: list[bool] = field(default_factory=list)

    async def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.forced += 1
            self.token = sandbox_tokens(self.sandbox_url, self.account_id)["access_token"]
        if not self.token:
            self.token = sandbox_tokens(self.sandbox_url, self.account_id)["access_token"]
        return self.token


def test_config(sandbox_url: str, **overrides: Any) -> JiraClientConfig:
    values: dict[str, Any] = {
        "api_url": sandbox_url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_retry_wait": 3.0,
        "retry_backoff_seconds": 0.01,
        "breaker_threshold": 3,
        "breaker_reset_seconds": 30.0,
    }
    values.update(overrides)
    return JiraClientConfig(**values)


MakeClient = Callable[..., JiraClient]


@pytest.fixture
def make_client(sandbox_url: str) -> MakeClient:
    """Build a client for an account on a site, with its own breaker key prefix (tests do not
    share breaker state) and config overrides."""

    def make(
        account_id: str = ALICE,
        cloud_id: str = ACME,
        *,
        tokens: TokenSource | None = None,
        clock: Callable[[], float] | None = None,
        **overrides: Any,
    ) -> JiraClient:
        config = test_config(sandbox_url, **overrides)
        breaker = Breaker(
            get_async_redis(),
            threshold=config.breaker_threshold,
            reset_seconds=config.breaker_reset_seconds,
            prefix=f"test:breaker:{uuid.uuid4().hex}",
        )
        if clock is not None:
            breaker.clock = clock
        return JiraClient(
            cloud_id=cloud_id,
            site_url="https://acme.atlassian.net"
            if cloud_id == ACME
            else "https://globex.atlassian.net",
            token_provider=tokens or TokenSource(sandbox_url, account_id),
            config=config,
            breaker=breaker,
        )

    return make


def user_context(account_id: str = ALICE, cloud_id: str = ACME) -> UserContext:
    return UserContext(
        account_id=account_id,
        display_name=account_id,
        session_key=f"test-{next(_sequence)}",
        cloud_id=cloud_id,
        site_url="https://acme.atlassian.net"
        if cloud_id == ACME
        else "https://globex.atlassian.net",
    )


@pytest.fixture
async def clean_jira_cache() -> None:
    """Remove the Jira cache entries of the test accounts (real Redis, the tests' own db)."""
    redis = get_async_redis()
    keys = [k async for k in redis.scan_iter(match="jira:v1:*", count=1000)]
    if keys:
        await redis.delete(*keys)


def sandbox_stats(sandbox_url: str) -> dict[str, int]:
    routes = httpx.get(sandbox_url + "/_sandbox/stats", timeout=5).json()["routes"]
    return {k: v for k, v in routes.items() if "/ex/jira/" in k}


def jira_requests(sandbox_url: str) -> int:
    return sum(sandbox_stats(sandbox_url).values())


def add_fault(sandbox_url: str, **spec: Any) -> None:
    response = httpx.post(
        sandbox_url + "/_sandbox/faults", json={"target": "jira", **spec}, timeout=5
    )
    response.raise_for_status()


Unused = Iterator[Awaitable[None]]
