"""The token vault over HTTP: nothing in clear anywhere, single-flight refresh across workers,
re-consent when Atlassian revokes the grant."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from django.apps import apps
from django.core import serializers

from sandbox.atlassian.data import ACME, ALICE, CHLOE, GLOBEX
from tests.support.servers import ServerProcess, free_port, start_daphne

MYSELF = "/debug/atlassian/myself"
# What the sandbox issues: access and refresh tokens, authorization codes. (Its dataset also holds
# a planted "sbx-fake" in an issue's text, which is Jira data, not a credential.)
TOKEN = re.compile(rb"sbx-(?:at|rt|code)-")


def _sandbox(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    if body is None:
        response = httpx.get(url + path, timeout=5)
    else:
        response = httpx.post(url + path, json=body, timeout=5)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _every_redis_value() -> list[Any]:
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    values: list[Any] = []
    for key in client.scan_iter(count=1000):
        values.append(key)
        kind = client.type(key)
        if kind == b"string":
            values.append(client.get(key) or b"")
        elif kind == b"set":
            values.extend(client.smembers(key))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                values.extend((field, value))
        elif kind == b"list":
            values.extend(client.lrange(key, 0, -1))
        elif kind == b"zset":
            values.extend(client.zrange(key, 0, -1))
    return values


def _database_dump() -> str:
    dumps = []
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy:
            dumps.append(serializers.serialize("json", model._default_manager.all()))
    return "\n".join(dumps)


@pytest.mark.django_db(transaction=True)
async def test_no_token_value_in_redis_the_database_or_the_logs(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    assert (await client.get(MYSELF)).status_code == 200  # the token was used
    debug = await client.get("/debug/session")

    leaks = [value for value in _every_redis_value() if TOKEN.search(value)]
    database = await asyncio.to_thread(_database_dump)
    # Everything the API process printed, access log included (ours logs paths without their
    # query strings, so the callback's authorization code never shows).
    logged = [line for line in api_server.output if TOKEN.search(line.encode())]
    callback_lines = [line for line in api_server.output if "GET /oauth/callback 302" in line]

    assert leaks == []
    assert "712020:alice-0001" in database  # the social-auth user is there...
    assert TOKEN.search(database.encode()) is None  # ...without any token
    assert logged == []
    assert callback_lines != []  # the sign-in's callback was logged, without its code
    assert TOKEN.search(debug.content) is None
    assert '"needs_reauth": false' in debug.text


async def test_twenty_concurrent_calls_after_expiry_refresh_exactly_once(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(ALICE.account_id)
    assert (await client.get(MYSELF)).status_code == 200
    _sandbox(sandbox_url, "/_sandbox/tokens/expire", {"account_id": ALICE.account_id})
    before = _sandbox(sandbox_url, "/_sandbox/stats")["refreshes"]

    answers = await asyncio.gather(*(client.get(MYSELF) for _ in range(20)))

    assert [a.status_code for a in answers] == [200] * 20
    assert {a.json()["account_id"] for a in answers} == {ALICE.account_id}
    assert _sandbox(sandbox_url, "/_sandbox/stats")["refreshes"] == before + 1
    # The rotated refresh token was saved: a second expiry refreshes again, without a re-consent.
    _sandbox(sandbox_url, "/_sandbox/tokens/expire", {"account_id": ALICE.account_id})
    assert (await client.get(MYSELF)).status_code == 200
    assert _sandbox(sandbox_url, "/_sandbox/stats")["refreshes"] == before + 2


@pytest.fixture(scope="module")
def second_api_server(
    api_env: dict[str, str], api_server: ServerProcess
) -> Iterator[ServerProcess]:
    """Another API process on the same Redis, database and OAuth client."""
    env = {
        **api_env,
        "ATLASSIAN_CLIENT_ID": "jira-ai-tests",
        "ATLASSIAN_CLIENT_SECRET": "jira-ai-tests-secret",
        "ATLASSIAN_REDIRECT_URI": f"{api_server.url}/oauth/callback",
    }
    server = start_daphne("jira_ai.asgi:application", env, port=free_port())
    yield server
    server.stop()


async def test_two_api_processes_sharing_redis_still_refresh_once(
    api_server: ServerProcess,
    second_api_server: ServerProcess,
    sandbox_url: str,
    sign_in_as: Any,
) -> None:
    first = await sign_in_as(ALICE.account_id, GLOBEX.cloud_id)
    async with httpx.AsyncClient(
        base_url=second_api_server.url, cookies=dict(first.cookies), timeout=20
    ) as second:
        assert (await second.get("/me")).json()["current_cloud_id"] == GLOBEX.cloud_id
        _sandbox(sandbox_url, "/_sandbox/tokens/expire", {"account_id": ALICE.account_id})
        before = _sandbox(sandbox_url, "/_sandbox/stats")["refreshes"]

        answers = await asyncio.gather(
            *(client.get(MYSELF) for client in (first, second) for _ in range(10))
        )

    assert [a.status_code for a in answers] == [200] * 20
    assert _sandbox(sandbox_url, "/_sandbox/stats")["refreshes"] == before + 1


async def test_revoked_refresh_family_asks_for_re_consent(
    api_server: ServerProcess, sandbox_url: str, sign_in_as: Any
) -> None:
    client = await sign_in_as(CHLOE.account_id)
    assert (await client.get(MYSELF)).status_code == 200
    _sandbox(sandbox_url, "/_sandbox/tokens/revoke", {"account_id": CHLOE.account_id})
    _sandbox(sandbox_url, "/_sandbox/tokens/expire", {"account_id": CHLOE.account_id})

    refused = await client.get(MYSELF)
    again = await client.get(MYSELF)
    me = await client.get("/me")

    assert refused.status_code == 401
    assert refused.json()["code"] == "atlassian_reauth_required"
    assert again.json()["code"] == "atlassian_reauth_required"
    assert me.status_code == 200
    assert [(s["cloud_id"], s["needs_reauth"]) for s in me.json()["sites"]] == [
        (GLOBEX.cloud_id, True)
    ]
    stats = _sandbox(sandbox_url, "/_sandbox/stats")
    assert stats["refreshes"] == 0
    assert json.dumps(me.json()).count("sbx-") == 0
    assert ACME.cloud_id not in me.text
