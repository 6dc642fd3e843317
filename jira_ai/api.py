"""The one NinjaAPI of the public service, mounted at the root, and its error mapping.

Every error leaves as ``{"detail": ..., "code": ...}`` (codes in :mod:`jira_ai.errors`); nothing
upstream (Jira's raw text, a stack trace, a secret) reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.auth import SessionAuth
from ai_service.engine import EngineError
from jira_ai.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="jira-ai",
    version="1.0.0",
    description="Summarize Jira JQL queries and analyze issues with an LLM.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=SessionAuth(),
)


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    *,
    retry_after: int | None = None,
) -> HttpResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(
        request, exc.status, str(exc.code), exc.detail, retry_after=exc.retry_after
    )


def on_engine_error(request: HttpRequest, exc: EngineError) -> HttpResponse:
    """The local engine's failures (LLM down, timeout, invalid output, rate-limited), with the
    same status and code ai-service would answer."""
    return error_response(request, exc.status, exc.code, exc.detail, retry_after=exc.retry_after)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    messages = []
    for error in exc.errors[:10]:
        location = ".".join(str(part) for part in error.get("loc", ()) if part not in {"body"})
        messages.append(f"{location}: {error.get('msg', 'invalid')}" if location else error["msg"])
    return error_response(
        request, 422, ErrorCode.INVALID_INPUT, "; ".join(messages) or "Invalid input."
    )


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, ErrorCode.NOT_AUTHENTICATED, "Not signed in.")


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's only 400: a body it cannot parse. Bad input is a 422 here (DESIGN.md), and
        # the parser's message is not the user's business.
        return error_response(
            request, 422, ErrorCode.INVALID_INPUT, "The request body is not valid JSON."
        )
    code = {
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
        413: ErrorCode.BODY_TOO_LARGE,
        401: ErrorCode.NOT_AUTHENTICATED,
    }.get(
        exc.status_code,
        ErrorCode.INVALID_INPUT if exc.status_code < 500 else ErrorCode.INTERNAL_ERROR,
    )
    return error_response(request, exc.status_code, code, str(exc.message))


def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, ErrorCode.INTERNAL_ERROR, "Internal error.")


def install_error_handlers(target: NinjaAPI) -> None:
    """Map every error to DESIGN.md's JSON format on ``target`` (the API, or a test API)."""
    handlers: list[tuple[type[Exception], Any]] = [
        (ApiError, on_api_error),
        (EngineError, on_engine_error),
        (ValidationError, on_validation_error),
        (AuthenticationError, on_authentication_error),
        (HttpError, on_http_error),
        (Exception, on_unexpected_error),
    ]
    for exc_class, handler in handlers:
        target.add_exception_handler(exc_class, handler)


install_error_handlers(api)
