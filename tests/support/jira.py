"""The Jira client under test, configured against the sandbox: its configuration, a token
provider over sandbox tokens, a user context."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.context import UserContext
from jira.client import JiraClient, JiraClientConfig
from tests.support import sandbox
from tests.support.ids import ACME, ACME_URL, ALICE, GLOBEX_URL
from tests.support.signin import tokens_for

_sequence = itertools.count()

# The ``make_client`` fixture: ``make_client(account_id=ALICE, cloud_id=ACME, *, tokens=None,
# clock=None, **config_overrides)``.
MakeClient = Callable[..., JiraClient]


def site_url(cloud_id: str) -> str:
    return ACME_URL if cloud_id == ACME else GLOBEX_URL


def add_fault(sandbox_url: str, **spec: Any) -> int:
    """A fault on the sandbox's Jira (accessible-resources and everything under ``/ex/jira``)."""
    return sandbox.add_fault(sandbox_url, "jira", **spec)


def jira_config(sandbox_url: str, **overrides: Any) -> JiraClientConfig:
    """Short timeouts and backoffs, a small breaker; ``overrides`` win."""
    values: dict[str, Any] = {
        "api_url": sandbox_url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_retry_wait": 3.0,
        "retry_backoff_seconds": 0.01,
        "breaker_threshold": 3,
        "breaker_reset_seconds": 30.0,
        # The shared retry budget is tested on its own (tests/jira/test_retry_budget.py); the
        # other tests test one call's retry policy, so their site's budget does not run out.
        "retry_budget_floor": 1000,
    }
    values.update(overrides)
    return JiraClientConfig(**values)


@dataclass
class TokenSource:
    """A token provider over sandbox tokens (the OAuth dance, run in a thread: it is blocking);
    counts forced refreshes."""

    sandbox_url: str
    account_id: str
    token: str = ""
    scope: str = ""  # the sandbox's default (classic) scopes when empty
    forced: int = 0
    calls: list[bool] = field(default_factory=list)

    async def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.forced += 1
        if force_refresh or not self.token:
            scope = {"scope": self.scope} if self.scope else {}
            tokens = await asyncio.to_thread(tokens_for, self.sandbox_url, self.account_id, **scope)
            self.token = tokens["access_token"]
        return self.token


def user_context(account_id: str = ALICE, cloud_id: str = ACME) -> UserContext:
    return UserContext(
        account_id=account_id,
        display_name=account_id,
        session_key=f"test-{next(_sequence)}",
        cloud_id=cloud_id,
        site_url=site_url(cloud_id),
    )
