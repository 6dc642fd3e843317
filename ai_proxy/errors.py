"""The typed errors of the ``ai_proxy`` app, in the one family (``core.errors.ApiError``) that
both services map in one place (the engine's errors and ``core.sse.TooManyStreams`` included)."""

from __future__ import annotations

from core.errors import ApiError, ErrorCode


class AIError(ApiError):
    status = 502
    code = ErrorCode.AI_SERVICE_UNAVAILABLE
    detail = "The AI service failed."


class AIServiceUnavailable(AIError):
    """ai-service could not be reached (503) or failed in a way the user cannot fix (502)."""

    status = 502
    code = ErrorCode.AI_SERVICE_UNAVAILABLE
    detail = "The AI service is unavailable."


class AIServiceTimeout(AIError):
    status = 504
    code = ErrorCode.AI_SERVICE_UNAVAILABLE
    detail = "The AI service did not answer in time."


class RateLimited(AIError):
    status = 429
    code = ErrorCode.RATE_LIMITED
    detail = "Too many AI requests: wait a moment before the next one."


class BodyTooLarge(AIError):
    status = 413
    code = ErrorCode.BODY_TOO_LARGE
    detail = "Request body too large."


class RequestStoreUnavailable(AIError):
    """Redis, which holds the quotas and the resumable runs, does not answer: fail closed, fast
    (no request goes uncounted, no run is resumed without knowing whose it is)."""

    status = 503
    code = ErrorCode.SESSION_STORE_UNAVAILABLE
    detail = "The request store is unavailable; retry shortly."
