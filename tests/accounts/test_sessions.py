"""The session store and middleware against real Redis: JSON under session:{sid}, signed cookie,
sliding and absolute expiry, fail-closed when Redis is down."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.test import AsyncClient, override_settings

from accounts import store as store_module
from accounts.sessions import SessionStore, sid_sign, sid_unsign
from accounts.vault import vault_decrypt, vault_encrypt


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


def _session(**data: object) -> SessionStore:
    session = SessionStore()
    session.update(data)
    session.save()
    assert session.session_key is not None
    return session


def test_signed_sid_round_trips_and_tampering_is_refused() -> None:
    signed = sid_sign("a" * 43)

    assert sid_unsign(signed) == "a" * 43
    assert sid_unsign(signed[:-1] + ("x" if signed[-1] != "x" else "y")) is None
    assert sid_unsign("a" * 43) is None
    assert sid_unsign("") is None


def test_session_is_json_under_its_key_with_the_idle_ttl(r: redis.Redis) -> None:
    session = _session(account_id="712020:test-json", display_name="Test")

    raw = r.get(f"session:{session.session_key}")
    data = json.loads(raw or b"{}")
    assert data["account_id"] == "712020:test-json"
    assert data["display_name"] == "Test"
    assert isinstance(data["_created"], float)
    assert 0 < r.ttl(f"session:{session.session_key}") <= settings.SESSION_COOKIE_AGE
    assert r.sismember("account_sessions:712020:test-json", str(session.session_key))


async def test_loading_slides_the_expiry(r: redis.Redis) -> None:
    session = _session(account_id="712020:test-slide")
    key = f"session:{session.session_key}"
    r.expire(key, 30)

    loaded = SessionStore(session.session_key)
    await loaded.apreload()

    assert loaded["account_id"] == "712020:test-slide"
    assert r.ttl(key) > settings.SESSION_COOKIE_AGE - 5


async def test_an_idle_session_expires(r: redis.Redis) -> None:
    session = _session(account_id="712020:test-idle")
    key = f"session:{session.session_key}"
    r.pexpire(key, 50)
    deadline = time.monotonic() + 3
    while r.exists(key) and time.monotonic() < deadline:
        time.sleep(0.01)  # polling Redis's own expiry, with a deadline

    loaded = SessionStore(session.session_key)
    await loaded.apreload()

    assert loaded.session_key is None
    assert loaded.expired is True
    assert dict(loaded.items()) == {}


async def test_a_session_past_its_absolute_lifetime_is_refused_and_deleted(r: redis.Redis) -> None:
    session = _session(account_id="712020:test-absolute")
    key = f"session:{session.session_key}"
    data = json.loads(r.get(key) or b"{}")
    data["_created"] = time.time() - settings.SESSION_ABSOLUTE_MAX_AGE_SECONDS - 1
    r.set(key, json.dumps(data), ex=60)

    loaded = SessionStore(session.session_key)
    await loaded.apreload()
    await loaded.asave()

    assert loaded.expired is True
    assert loaded.session_key is None
    assert r.exists(key) == 0


async def test_cycle_key_and_flush_are_memory_only_until_saved(r: redis.Redis) -> None:
    session = _session(account_id="712020:test-cycle")
    old = session.session_key
    loaded = SessionStore(old)
    await loaded.apreload()

    loaded.cycle_key()
    assert r.exists(f"session:{old}") == 1
    await loaded.asave()

    assert loaded.session_key != old
    assert r.exists(f"session:{old}") == 0
    assert json.loads(r.get(f"session:{loaded.session_key}") or b"{}")["account_id"] == (
        "712020:test-cycle"
    )
    await loaded.aflush()
    await loaded.asave()
    assert r.keys("session:*test-cycle*") == []


def test_vault_is_encrypted_and_old_keys_still_decrypt() -> None:
    tokens = {"c1": {"access_token": "sbx-at-secret", "refresh_token": "sbx-rt-secret"}}
    blob = vault_encrypt(tokens)

    assert "sbx-" not in blob
    assert vault_decrypt(blob) == tokens
    from cryptography.fernet import Fernet

    new_key = Fernet.generate_key().decode()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key, *settings.TOKEN_ENCRYPTION_KEYS]):
        assert vault_decrypt(blob) == tokens
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key]):
        assert vault_decrypt(blob) == {}


async def test_redis_down_answers_503_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Redis that hangs up on every connection: the store may try it once, and must answer
    # without a retry (nor a wait on a timeout: nothing here ever times out).
    attempts = 0

    def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    down = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = down.sockets[0].getsockname()[1]
    dead = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1, socket_timeout=1
    )
    monkeypatch.setattr(store_module, "get_async_redis", lambda: dead)
    client = AsyncClient()
    client.cookies["sid"] = sid_sign("s" * 43)

    try:
        answer = await client.get("/me")
    finally:
        down.close()
        await down.wait_closed()

    assert answer.status_code == 503
    assert answer.json() == {
        "detail": "The session store is unavailable: try again shortly.",
        "code": "session_store_unavailable",
    }
    assert attempts == 1


async def test_no_cookie_means_no_redis_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise AssertionError("Redis was consulted")

    monkeypatch.setattr(store_module, "get_async_redis", boom)
    client = AsyncClient()
    client.cookies["sid"] = "forged:value"

    answer = await client.get("/me")
    health = await client.get("/healthz")

    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"
    assert health.status_code == 200


def test_memory_store_serves_without_redis() -> None:
    with override_settings(REDIS_URL=""):
        session = _session(account_id="712020:test-memory")
        loaded = SessionStore(session.session_key)
        assert loaded["account_id"] == "712020:test-memory"
        loaded.delete()
        assert SessionStore(session.session_key).load() == {}
