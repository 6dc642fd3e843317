"""Pages of the project itself: root redirect, the workspace shell, HTML/JSON error handlers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render

from jira_ai.errors import ErrorCode


async def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/ui")


def _wants_html(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_html(request):
        return render(request, "errors/404.html", status=404)
    return JsonResponse({"detail": "Not found.", "code": ErrorCode.NOT_FOUND}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"detail": "Internal error.", "code": ErrorCode.INTERNAL_ERROR}, status=500)
