"""The ninja auth class of the public API: the ``sid`` session, then CSRF on unsafe methods.

ninja exempts its views from Django's CSRF middleware, and its stock ``APIKeyCookie`` checks CSRF
before the session (so a signed-out client would get 403 instead of 401): this class does it in
the right order. It does no I/O (the middleware loaded the session) and is a coroutine, so ninja
does not hop to a thread to call it.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyCookie
from ninja.utils import check_csrf

from accounts.context import UserContext
from accounts.errors import CsrfFailed, SessionExpired
from accounts.selectors import session_user_context

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def session_context(request: HttpRequest, cloud_id: str | None = None) -> UserContext | None:
    """The signed-in user of this request, or None. Raises SiteForbidden for a foreign site."""
    return session_user_context(
        request.session, session_key=str(request.session.session_key), cloud_id=cloud_id
    )


class SessionAuth(APIKeyCookie):
    param_name = "sid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    async def __call__(self, request: HttpRequest) -> UserContext | None:
        ctx = session_context(request, request.GET.get("cloud_id") or None)
        if ctx is None:
            if getattr(request.session, "expired", False):
                raise SessionExpired
            return None
        unsafe = request.method not in SAFE_METHODS
        if unsafe and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise CsrfFailed
        return ctx

    def authenticate(self, request: HttpRequest, key: str | None) -> UserContext | None:
        raise NotImplementedError  # pragma: no cover - __call__ does everything
