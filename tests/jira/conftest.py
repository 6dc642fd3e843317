"""Fixtures of the Jira suites: the sandbox as the real peer, tokens obtained from it directly (no
app session), real Redis for the cache and the breaker (helpers: ``tests.support.jira``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from core.redis import get_async_redis
from jira.breaker import Breaker
from jira.client import JiraClient
from tests.support.ids import ACME, ALICE
from tests.support.jira import MakeClient, TokenSource, jira_config, site_url
from tests.support.keys import forget_keys


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
        config = jira_config(sandbox_url, **overrides)
        breaker = Breaker(
            get_async_redis(),
            threshold=config.breaker_threshold,
            reset_seconds=config.breaker_reset_seconds,
            budget_percent=config.retry_budget_percent,
            budget_window_seconds=config.retry_budget_window_seconds,
            budget_floor=config.retry_budget_floor,
            prefix=f"test:breaker:{uuid.uuid4().hex}",
        )
        if clock is not None:
            breaker.clock = clock
        return JiraClient(
            cloud_id=cloud_id,
            site_url=site_url(cloud_id),
            token_provider=tokens or TokenSource(sandbox_url, account_id),
            config=config,
            breaker=breaker,
        )

    return make


@pytest.fixture
async def clean_jira_cache() -> None:
    """Remove the Jira cache entries of the test accounts (real Redis, the tests' own db)."""
    await forget_keys("jira:v1:*")
