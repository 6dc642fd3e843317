"""The session engine (``SESSION_ENGINE = "accounts.sessions"``): JSON in Redis under
``session:{sid}``, a signed ``sid`` cookie, sliding idle expiry plus an absolute lifetime.

Django's cache backend cannot serve here: it pickles under its own key prefix and turns every
Redis error into "no session". This store raises ``redis.RedisError`` instead, so callers fail
closed.

On the request path the middleware loads the session with one Redis round trip before the view and
saves it after; in between every access is in memory, including :meth:`SessionStore.cycle_key` and
:meth:`SessionStore.flush`, whose deletions are applied at save time.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase
from django.core import signing

from accounts.session_data import SessionData
from accounts.store import get_store

CREATED_KEY = "_created"
_SIGNER_SALT = "accounts.sessions.sid"


def sid_sign(sid: str) -> str:
    return signing.Signer(salt=_SIGNER_SALT).sign(sid)


def sid_unsign(value: str) -> str | None:
    """The sid of a cookie value, or None when it is forged or tampered (no store lookup)."""
    try:
        sid = signing.Signer(salt=_SIGNER_SALT).unsign(value)
    except signing.BadSignature:
        return None
    return sid if 20 <= len(sid) <= 100 else None


def idle_seconds() -> int:
    return int(settings.SESSION_COOKIE_AGE)


def absolute_seconds() -> int:
    return int(settings.SESSION_ABSOLUTE_MAX_AGE_SECONDS)


def ttl_for(created: float, now: float | None = None) -> int:
    """Seconds the session may still live: the idle window, capped by the absolute lifetime."""
    now = time.time() if now is None else now
    return max(0, min(idle_seconds(), int(created + absolute_seconds() - now)))


def decode(raw: bytes | str) -> dict[str, Any] | None:
    """Session data, or None when unreadable or past its absolute lifetime."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    created = data.get(CREATED_KEY)
    if not isinstance(created, int | float) or ttl_for(created) <= 0:
        return None
    return data


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._pending_deletes: list[tuple[str, str | None]] = []
        self._loaded_account_id: str | None = None
        self._must_create = False
        self.expired = False  # a signed sid pointed at no live session

    # --- keys ---------------------------------------------------------------------------------
    def _get_new_session_key(self) -> str:
        # 256 bits of randomness: a collision is not a practical concern, and save() uses NX.
        # Hex, so that an id never starts with "-" (operators pass it on command lines).
        return secrets.token_hex(32)

    def _forget_current(self) -> None:
        if self.session_key and not self._must_create:
            self._pending_deletes.append((self.session_key, self._loaded_account_id))

    def cycle_key(self) -> None:
        """A new key for the same data, with a fresh lifetime (at login). Memory-only."""
        data = self._session  # type: ignore[attr-defined]
        self._forget_current()
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        data[CREATED_KEY] = time.time()
        self._must_create = True
        self.modified = True

    async def acycle_key(self) -> None:
        self.cycle_key()

    def flush(self) -> None:
        """Empty the session and forget its key; the stored entry is deleted at save time."""
        self._session_cache = {}
        self._forget_current()
        self._session_key = None
        self._must_create = False
        self.modified = True

    async def aflush(self) -> None:
        self.flush()

    @property
    def has_pending_writes(self) -> bool:
        return self.modified or bool(self._pending_deletes)

    # --- load ---------------------------------------------------------------------------------
    def _accept(self, raw: bytes | None) -> dict[str, Any]:
        data = decode(raw) if raw is not None else None
        if data is None:
            if self.session_key:
                self.expired = True
                if raw is not None:  # past its absolute lifetime: remove it now
                    self._pending_deletes.append((self.session_key, None))
            self._session_key = None
            return {}
        self._loaded_account_id = SessionData.read(data).account_id
        return data

    def load(self) -> dict[str, Any]:
        if not self.session_key:
            return {}
        stored = get_store().get(self.session_key)
        return self._accept(stored.raw if stored else None)

    async def aload(self) -> dict[str, Any]:
        if not self.session_key:
            return {}
        return self._accept(await get_store().aload(self.session_key, idle_seconds()))

    async def apreload(self) -> None:
        """Load before the view, so later sync accesses never touch the store."""
        self._session_cache = await self.aload()

    def exists(self, session_key: str) -> bool:
        return get_store().get(session_key) is not None

    async def aexists(self, session_key: str) -> bool:
        return self.exists(session_key)

    # --- save / delete ------------------------------------------------------------------------
    def _prepare(self) -> tuple[str, str, int, bool, str | None] | None:
        data = self._get_session(no_load=self._must_create)  # type: ignore[attr-defined]
        if not data:
            return None
        if not isinstance(data.get(CREATED_KEY), int | float):
            data[CREATED_KEY] = time.time()
        must_create = self._must_create or self.session_key is None
        if self.session_key is None:
            self._session_key = self._get_new_session_key()
        ttl = ttl_for(data[CREATED_KEY])
        account_id = SessionData.read(data).account_id
        assert self.session_key is not None
        return (
            self.session_key,
            json.dumps(data, separators=(",", ":")),
            ttl,
            must_create,
            account_id,
        )

    def _after_save(self, created: bool, must_create: bool) -> None:
        if must_create and not created:
            raise CreateError
        self._must_create = False
        self.modified = False
        self._pending_deletes = []

    def save(self, must_create: bool = False) -> None:
        store = get_store()
        if self._pending_deletes:
            store.delete(self._pending_deletes)
        prepared = self._prepare()
        if prepared is None:
            self._session_key = None
            self._after_save(True, False)
            return
        sid, raw, ttl, create, account_id = prepared
        created = store.save(
            sid, raw, ttl, must_create=create or must_create, account_id=account_id
        )
        self._after_save(created, create or must_create)

    async def asave(self, must_create: bool = False) -> None:
        store = get_store()
        if self._pending_deletes:
            await store.adelete(self._pending_deletes)
        prepared = self._prepare()
        if prepared is None:
            self._session_key = None
            self._after_save(True, False)
            return
        sid, raw, ttl, create, account_id = prepared
        created = await store.asave(
            sid, raw, ttl, must_create=create or must_create, account_id=account_id
        )
        self._after_save(created, create or must_create)

    def create(self) -> None:
        self._session_key = None
        self._must_create = True
        self.modified = True
        self.save(must_create=True)

    async def acreate(self) -> None:
        self._session_key = None
        self._must_create = True
        self.modified = True
        await self.asave(must_create=True)

    def delete(self, session_key: str | None = None) -> None:
        sid = session_key or self.session_key
        if sid:
            account_id = self._loaded_account_id if sid == self.session_key else None
            get_store().delete([(sid, account_id)])

    async def adelete(self, session_key: str | None = None) -> None:
        sid = session_key or self.session_key
        if sid:
            account_id = self._loaded_account_id if sid == self.session_key else None
            await get_store().adelete([(sid, account_id)])

    @classmethod
    def clear_expired(cls) -> None:
        """Redis expires keys itself."""
