"""The registry of error codes, the exception every layer raises to answer with one, and the one
mapping of errors to responses, installed on both services' NinjaAPIs.

Errors leave as JSON ``{"detail": "...", "code": "..."}`` (with ``Retry-After`` when the cause has
one). Each app raises subclasses of :class:`ApiError` (its own typed family, the LLM engine's
included); nothing upstream (a vendor's raw text, a stack trace, a secret) reaches the client.
"""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    SESSION_EXPIRED = "session_expired"
    ATLASSIAN_REAUTH_REQUIRED = "atlassian_reauth_required"
    CSRF_FAILED = "csrf_failed"
    SITE_FORBIDDEN = "site_forbidden"
    ISSUE_NOT_FOUND = "issue_not_found"
    BOARD_NOT_FOUND = "board_not_found"
    SPRINT_NOT_FOUND = "sprint_not_found"
    PROJECT_NOT_FOUND = "project_not_found"
    VERSION_NOT_FOUND = "version_not_found"
    INVALID_INPUT = "invalid_input"
    INVALID_JQL = "invalid_jql"
    QUESTION_NOT_UNDERSTOOD = "question_not_understood"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    JIRA_UNAVAILABLE = "jira_unavailable"
    JIRA_TIMEOUT = "jira_timeout"
    JIRA_RATE_LIMITED = "jira_rate_limited"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_TIMEOUT = "llm_timeout"
    LLM_INVALID_OUTPUT = "llm_invalid_output"
    LLM_RATE_LIMITED = "llm_rate_limited"
    LLM_BUSY = "llm_busy"
    LLM_QUOTA_EXHAUSTED = "llm_quota_exhausted"
    AI_SERVICE_UNAVAILABLE = "ai_service_unavailable"
    INVALID_SERVICE_TOKEN = "invalid_service_token"
    SESSION_STORE_UNAVAILABLE = "session_store_unavailable"
    TOO_MANY_STREAMS = "too_many_streams"
    REQUEST_TOO_LONG = "request_too_long"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a message safe to show to the user.

    ``retry_after`` is a whole number of seconds (the upstream's value rounded up), or None.
    """

    status: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    detail: str = "Internal error."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: ErrorCode | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if detail is not None:
            self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.retry_after = None if retry_after is None else max(0, math.ceil(retry_after))
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": str(self.code)}


class ProbeFailure(Exception):
    """A failed health check whose message is written for the operator (what to do) and holds
    nothing secret: ``/readyz`` shows it, unlike an unexpected exception's text."""


def error_response(
    status: int, code: str, detail: str, *, retry_after: int | None = None
) -> HttpResponse:
    """The one JSON error response of both services."""
    from django.http import JsonResponse

    response = JsonResponse({"detail": detail, "code": str(code)}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def api_error_response(exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.detail, retry_after=exc.retry_after)


def install_error_handlers(target: NinjaAPI) -> None:
    """Map every error to the JSON format on ``target`` (an API of either service, or a test's)."""
    from ninja.errors import AuthenticationError, HttpError, ValidationError

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return api_error_response(exc)

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        messages = []
        for error in exc.errors[:10]:
            location = ".".join(str(part) for part in error.get("loc", ()) if part not in {"body"})
            message = error.get("msg", "invalid")
            messages.append(f"{location}: {message}" if location else message)
        return error_response(422, ErrorCode.INVALID_INPUT, "; ".join(messages) or "Invalid input.")

    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(401, ErrorCode.NOT_AUTHENTICATED, "Not signed in.")

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            # ninja's only 400: a body it cannot parse. Bad input is a 422 here, and the
            # parser's message is not the user's business.
            return error_response(
                422, ErrorCode.INVALID_INPUT, "The request body is not valid JSON."
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
        return error_response(exc.status_code, code, str(exc.message))

    def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, ErrorCode.INTERNAL_ERROR, "Internal error.")

    handlers: list[tuple[type[Exception], Any]] = [
        (ApiError, on_api_error),
        (ValidationError, on_validation_error),
        (AuthenticationError, on_authentication_error),
        (HttpError, on_http_error),
        (Exception, on_unexpected_error),
    ]
    for exc_class, handler in handlers:
        target.add_exception_handler(exc_class, handler)
