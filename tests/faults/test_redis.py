"""Redis faults on real processes: the API on a throwaway ``redis-server`` with AOF on (as in
compose), restarted or stopped between requests."""

from __future__ import annotations

import time

import httpx
import pytest
from django.test import override_settings

from accounts.context import UserContext
from ai_proxy.services import jql_summary_stream_open
from core.errors import ApiError, api_error_response
from tests.faults.conftest import ThrowawayRedis
from tests.support import sandbox
from tests.support.ids import ACME, ACME_URL, ALICE
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn


async def test_a_redis_restart_keeps_the_session_and_the_vault_and_the_first_request_succeeds(
    redis_api: ServerProcess, fault_redis: ThrowawayRedis, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(redis_api, ALICE)
    before = await client.get("/me")
    assert before.status_code == 200, before.text
    assert (await client.get("/jira/issues/PAY-3")).status_code == 200  # pooled connections now

    fault_redis.restart()
    jira_before = sandbox.jira_requests(sandbox_url)
    first = await client.get("/me")
    issue = await client.get("/jira/issues/PAY-4")  # not cached: read with the vault's token

    assert first.status_code == 200, first.text
    assert first.json() == before.json()
    assert issue.status_code == 200, issue.text
    assert issue.json()["issue"]["key"] == "PAY-4"
    assert sandbox.jira_requests(sandbox_url) > jira_before


async def test_redis_down_is_a_503_within_a_second_and_liveness_stays_up(
    redis_api: ServerProcess, fault_redis: ThrowawayRedis, signed_in: SignIn
) -> None:
    client = await signed_in(redis_api, ALICE)
    assert (await client.get("/me")).status_code == 200

    fault_redis.stop()
    started = time.monotonic()
    # The client's own deadline: a hang past one second fails the test with a timeout error.
    down = await client.get("/me", timeout=1.0)
    elapsed = time.monotonic() - started
    live_with_cookie = await client.get("/healthz", timeout=1.0)
    async with httpx.AsyncClient(base_url=redis_api.url, timeout=1.0) as anonymous:
        live_without_cookie = await anonymous.get("/healthz")
        ready = await anonymous.get("/readyz", timeout=5.0)

    assert down.status_code == 503
    assert down.json() == {
        "detail": "The session store is unavailable: try again shortly.",
        "code": "session_store_unavailable",
    }
    assert down.headers["Retry-After"] == "5"
    assert elapsed < 1.0
    assert live_with_cookie.status_code == 200
    assert live_with_cookie.json() == {"status": "ok", "checks": {}}
    assert "set-cookie" not in live_with_cookie.headers  # the session cookie is left as it is
    assert live_without_cookie.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error: ")

    fault_redis.start()
    back = await client.get("/me")
    assert back.status_code == 200, back.text  # the session came back from the AOF


async def test_a_redis_error_while_checking_a_last_event_id_owner_is_503(
    throwaway_redis: ThrowawayRedis,
) -> None:
    # Given the runs' Redis gone between the session check and the owner check (the session
    # middleware would answer 503 first on one Redis: this runs the service on a stopped one).
    throwaway_redis.stop()
    ctx = UserContext(
        account_id=ALICE,
        display_name="Alice",
        session_key="s" * 32,
        cloud_id=ACME,
        site_url=ACME_URL,
    )

    with override_settings(REDIS_URL=throwaway_redis.url), pytest.raises(ApiError) as caught:
        await jql_summary_stream_open(ctx=ctx, jql="project = PAY", last_event_id=f"{'a' * 32}:3")
    response = api_error_response(caught.value)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.content == (
        b'{"detail": "The request store is unavailable; retry shortly.", '
        b'"code": "session_store_unavailable"}'
    )
