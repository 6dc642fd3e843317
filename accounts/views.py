"""Sign-in pages: ``GET|POST /login``, ``GET /oauth/callback``, ``POST /logout``, the session's
debug view.

The OAuth dance itself is social-auth's (state, nonce, pipeline, login; its calls to Atlassian go
through accounts/atlassian.py, see accounts/backends.py); these views sanitize ``next``, turn its
failures into friendly pages, and write the token vault once the session's final key is known.
social-auth is synchronous: ``/login`` and ``/oauth/callback`` run in a worker thread, where the
preloaded session is memory-only and the vault write uses sync Redis.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from redis.exceptions import RedisError
from social_core.actions import do_auth, do_complete
from social_core.exceptions import AuthCanceled, AuthConfigurationError, SocialAuthBaseException
from social_django.utils import psa
from social_django.views import _do_login

from accounts.auth import session_context
from accounts.backends import NoJiraSite
from accounts.errors import AccountsError
from accounts.middleware import store_unavailable_response
from accounts.pipeline import GRANT_ATTRIBUTE, SITE_HINT, SignInTokens
from accounts.scopes import SIGN_IN_SCOPES
from accounts.vault import vault_open, vault_read, vault_summary

logger = logging.getLogger(__name__)

BACKEND = "atlassian"
CALLBACK_PATH = "/oauth/callback"
DEFAULT_NEXT = "/ui"
MAX_CLOUD_ID_CHARS = 64


def safe_next(value: str | None) -> str:
    """A path inside this site, or the default: never another host (no open redirect)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False)
    ):
        return value
    return DEFAULT_NEXT


def _signed_in(request: HttpRequest) -> bool:
    try:
        return session_context(request) is not None
    except AccountsError:
        return False


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, f"accounts/{template}.html", context, status=status)


@psa(CALLBACK_PATH)
def _begin(request: HttpRequest, backend: str) -> HttpResponse:
    return do_auth(request.backend, redirect_name="next")  # type: ignore[attr-defined]


@psa(CALLBACK_PATH)
def _complete(request: HttpRequest, backend: str) -> HttpResponse:
    # Always a sign-in (never "associate with the current user"): a new session every time.
    return do_complete(
        request.backend,  # type: ignore[attr-defined]
        _do_login,
        user=AnonymousUser(),  # type: ignore[arg-type]
        redirect_name="next",
        request=request,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """GET: the sign-in page. POST (CSRF-checked by the middleware): start the OAuth dance."""
    next_url = safe_next(
        request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    )
    if request.method == "GET":
        if _signed_in(request):
            return HttpResponseRedirect(next_url)
        return _page(request, "login", next=next_url)
    try:
        response = _begin(request, BACKEND)
    except SocialAuthBaseException:
        logger.exception("could not start the Atlassian sign-in")
        return _page(request, "error", status=502)
    # social-core kept the posted `next` after its own check, which allows more than ours (any
    # URL on this host): ours replaces it before the session is saved.
    request.session["next"] = next_url
    # A re-consent names the site it is for: the new session starts on it if it was granted.
    site = request.POST.get("cloud_id", "")
    if site and len(site) <= MAX_CLOUD_ID_CHARS:
        request.session[SITE_HINT] = site
    else:
        request.session.pop(SITE_HINT, None)  # none from an abandoned earlier attempt
    return response


@never_cache
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    try:
        response = _complete(request, BACKEND)
    except AuthCanceled:
        return _page(request, "denied")
    except NoJiraSite:
        return _page(request, "no_site")
    except AuthConfigurationError as exc:
        if exc.provider_code != "invalid_scope":
            raise
        # The app's console lacks a scope we ask for: every sign-in fails until it is enabled.
        logger.error("Atlassian refused the sign-in's scopes (invalid_scope): enable them all")
        return _page(request, "scopes", status=400, scopes=SIGN_IN_SCOPES)
    except SocialAuthBaseException as exc:
        # The code names the failure (state_mismatch, session_context_missing, http_error...)
        # without any request data.
        logger.warning("Atlassian sign-in failed: %s (%s)", exc.code, exc.stage)
        return _page(request, "error", status=400)
    tokens: SignInTokens | None = getattr(request, GRANT_ATTRIBUTE, None)
    sid = request.session.session_key
    if tokens is None or not sid:
        logger.error("Atlassian sign-in completed without opening a session")
        return _page(request, "error", status=400)
    try:
        vault_open(sid=sid, grant=tokens.grant, sites=tokens.sites)
    except RedisError:
        logger.exception("session store unavailable while opening the token vault")
        return store_unavailable_response()
    request.session.pop("next", None)
    return response


@require_POST
async def logout_view(request: HttpRequest) -> HttpResponse:
    """Destroys the server-side session (its Redis entry and vault), so a replayed cookie fails."""
    await request.session.aflush()
    return HttpResponseRedirect("/login")


@never_cache
@require_GET
async def debug_session(request: HttpRequest) -> HttpResponse:
    """DEBUG only (mounted under /debug/): the current session without any token value."""
    session = request.session
    data = dict(session.items())
    tokens = await vault_read(sid=session.session_key) if session.session_key else None
    return JsonResponse(
        {
            "session_key_prefix": (session.session_key or "")[:6],
            "data": data,
            "vault": vault_summary(tokens) if tokens is not None else None,
        },
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
