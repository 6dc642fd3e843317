"""Writes on sessions outside a request: revocation (admin, commands)."""

from __future__ import annotations

from accounts.sessions import decode
from accounts.store import get_store


def session_revoke(*, sid: str) -> bool:
    store = get_store()
    stored = store.get(sid)
    if stored is None:
        return False
    data = decode(stored.raw) or {}
    account_id = data.get("account_id") if isinstance(data.get("account_id"), str) else None
    store.delete([(sid, account_id)])
    return True


def account_sessions_revoke(*, account_id: str) -> int:
    store = get_store()
    sids = set(store.account_sids(account_id))
    # The index may miss a session (it is best effort): confirm with the sessions themselves.
    for sid in store.sids():
        stored = store.get(sid)
        if stored is not None and (decode(stored.raw) or {}).get("account_id") == account_id:
            sids.add(sid)
    live = [sid for sid in sids if store.get(sid) is not None]
    store.delete([(sid, account_id) for sid in sids])
    return len(live)


def sessions_revoke_all() -> int:
    store = get_store()
    count = 0
    for sid in store.sids():
        if session_revoke(sid=sid):
            count += 1
    return count
