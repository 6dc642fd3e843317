"""The registry of error codes and the exception every layer raises to answer with one.

Errors leave the API as JSON ``{"detail": "...", "code": "..."}``. Each app raises subclasses of
:class:`ApiError` (its own typed family) and ``jira_ai.api`` maps them in one place.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    SESSION_EXPIRED = "session_expired"
    ATLASSIAN_REAUTH_REQUIRED = "atlassian_reauth_required"
    CSRF_FAILED = "csrf_failed"
    SITE_FORBIDDEN = "site_forbidden"
    ISSUE_NOT_FOUND = "issue_not_found"
    INVALID_INPUT = "invalid_input"
    INVALID_JQL = "invalid_jql"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    JIRA_UNAVAILABLE = "jira_unavailable"
    JIRA_TIMEOUT = "jira_timeout"
    JIRA_RATE_LIMITED = "jira_rate_limited"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_TIMEOUT = "llm_timeout"
    LLM_INVALID_OUTPUT = "llm_invalid_output"
    LLM_RATE_LIMITED = "llm_rate_limited"
    AI_SERVICE_UNAVAILABLE = "ai_service_unavailable"
    INVALID_SERVICE_TOKEN = "invalid_service_token"
    SESSION_STORE_UNAVAILABLE = "session_store_unavailable"
    TOO_MANY_STREAMS = "too_many_streams"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a message safe to show to the user."""

    status: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    detail: str = "Internal error."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: ErrorCode | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        if detail is not None:
            self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, str]:
        return {"detail": self.detail, "code": str(self.code)}
