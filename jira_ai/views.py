"""Pages of the project itself: root redirect, the workspace shell, HTML/JSON error handlers, and
the debug views that need more than one app."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.auth import session_context
from accounts.errors import CsrfFailed, SiteForbidden
from core.errors import ApiError, ErrorCode, api_error_response
from jira.services import jira_client_for
from jira_ai.ui_strings import ui_strings

WORKSPACE_JQL_EXAMPLES = (
    "statusCategory != Done ORDER BY updated DESC",
    "priority in (High, Highest) AND statusCategory != Done",
    "updated >= -7d ORDER BY updated DESC",
)


async def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/ui")


async def workspace(request: HttpRequest) -> HttpResponse:
    """The web UI's shell. Everything user-specific (name, sites, projects) is fetched by the page
    from the JSON API, so this view does no Jira call and answers fast."""
    try:
        signed_in = session_context(request) is not None
    except SiteForbidden:  # the current site left the session: /me lets the user pick another
        signed_in = True
    if not signed_in:
        return HttpResponseRedirect("/login")
    context = {"ui_strings": ui_strings(), "jql_examples": WORKSPACE_JQL_EXAMPLES}
    return render(request, "ui/workspace.html", context)


def _wants_html(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_html(request):
        return render(request, "errors/404.html", status=404)
    return JsonResponse({"detail": "Not found.", "code": ErrorCode.NOT_FOUND}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"detail": "Internal error.", "code": ErrorCode.INTERNAL_ERROR}, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW`` for Django's own views (``/login``, ``/logout``, ``/i18n/``): the
    same 403 ``csrf_failed`` as the API's, or a page for a browser, never Django's debug page."""
    if _wants_html(request):
        return render(request, "errors/403_csrf.html", status=403)
    error = CsrfFailed()
    return JsonResponse(error.as_dict(), status=error.status)


@never_cache
@require_GET
async def debug_atlassian_myself(request: HttpRequest) -> HttpResponse:
    """DEBUG only (mounted under /debug/): Jira's ``myself`` with the session's token, through the
    Jira client (a 401 refreshes the token once), to check a sign-in end to end."""
    try:
        ctx = session_context(request, request.GET.get("cloud_id") or None)
        if ctx is None:
            raise Http404
        me = await jira_client_for(ctx).myself()
    except ApiError as exc:
        return api_error_response(exc)
    return JsonResponse({"account_id": me.account_id, "display_name": me.display_name})
