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
from accounts.errors import CsrfFailed, SessionExpired, SiteForbidden

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def session_context(request: HttpRequest, cloud_id: str | None = None) -> UserContext | None:
    """The signed-in user of this request, or None. Raises SiteForbidden for a foreign site."""
    session = request.session
    account_id = session.get("account_id")
    sites = session.get("sites")
    if not isinstance(account_id, str) or not isinstance(sites, dict) or not sites:
        return None
    if "_auth_user_id" not in session:  # opened by the pipeline but login() never completed
        return None
    chosen = cloud_id or session.get("current_cloud_id")
    if not isinstance(chosen, str) or chosen not in sites:
        raise SiteForbidden
    site = sites[chosen]
    return UserContext(
        account_id=account_id,
        display_name=str(session.get("display_name") or ""),
        session_key=str(session.session_key),
        cloud_id=chosen,
        site_url=str(site.get("url") or ""),
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
