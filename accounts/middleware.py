"""The session middleware, natively async: one Redis round trip before the view (GETEX, which also
slides the expiry), an async save after it, a signed ``sid`` cookie.

A forged or tampered cookie is "no session" without any Redis lookup. A Redis error answers 503
``session_store_unavailable`` at once (bounded socket timeouts in jira_ai/redis.py): never a
silent "signed out".

The probes (``/healthz``, ``/readyz``, ``/metrics``) never read a session: the middleware does not
load one for them, so liveness answers 200 during a Redis outage even when the request carries a
``sid`` cookie (a browser's, or a load balancer's probe that kept one), and the cookie is left as
it is. Readiness reports Redis itself (``core.health``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.cache import patch_vary_headers
from redis.exceptions import RedisError

from accounts.errors import SessionStoreUnavailable
from accounts.sessions import SessionStore, absolute_seconds, sid_sign, sid_unsign

logger = logging.getLogger(__name__)

SESSIONLESS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def store_unavailable_response() -> JsonResponse:
    error = SessionStoreUnavailable()
    response = JsonResponse(error.as_dict(), status=error.status)
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


class SessionMiddleware(sessions_middleware.SessionMiddleware):
    sync_capable = False
    async_capable = True

    def process_request(self, request: HttpRequest) -> None:  # pragma: no cover - async only
        raise NotImplementedError("accounts.middleware.SessionMiddleware runs under ASGI only")

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        # A probe is served as a request without a cookie (an empty session, nothing loaded);
        # ``_finish`` then neither sets nor deletes the cookie it may carry.
        probe = request.path in SESSIONLESS_PATHS
        cookie = None if probe else request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        sid = sid_unsign(cookie) if cookie else None
        session = SessionStore(sid)
        request.session = session
        if sid:
            try:
                await session.apreload()
            except RedisError:
                logger.exception("session store unavailable while loading a session")
                return store_unavailable_response()
        else:
            session._session_cache = {}
        response = await self.get_response(request)  # type: ignore[misc]
        return await self._finish(request, response, cookie, sid)

    async def _finish(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        cookie: str | None,
        loaded_sid: str | None,
    ) -> HttpResponseBase:
        session = request.session
        assert isinstance(session, SessionStore)
        if session.accessed:
            patch_vary_headers(response, ("Cookie",))
        if session.has_pending_writes and response.status_code != 500:
            try:
                await session.asave()
            except RedisError:
                logger.exception("session store unavailable while saving a session")
                return store_unavailable_response()
        sid = session.session_key
        if sid and (sid != loaded_sid or cookie is None):
            response.set_cookie(
                settings.SESSION_COOKIE_NAME,
                sid_sign(sid),
                # The server enforces the idle and absolute limits; the cookie never outlives
                # the absolute one.
                max_age=absolute_seconds(),
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                secure=bool(settings.SESSION_COOKIE_SECURE),
                httponly=True,
                samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
        elif not sid and cookie is not None:
            response.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
        return response
