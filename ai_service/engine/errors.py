"""The engine's typed error family, in the one error family of both services
(:class:`core.errors.ApiError`): each carries an HTTP status, a stable ``code`` and, for a rate
limit, ``retry_after``. ``detail`` is ours, never the vendor's text (which may echo prompts or
keys).
"""

from __future__ import annotations

from core.errors import ApiError, ErrorCode


class EngineError(ApiError):
    status = 502
    code = ErrorCode.LLM_UNAVAILABLE
    detail = "The language model failed."


class LLMUnavailable(EngineError):
    """The LLM endpoint refused, failed or could not be reached (retryable later)."""

    status = 502
    code = ErrorCode.LLM_UNAVAILABLE
    detail = "The language model is unavailable."


class LLMTimeout(EngineError):
    status = 504
    code = ErrorCode.LLM_TIMEOUT
    detail = "The language model did not answer in time."


class LLMRateLimited(EngineError):
    """The vendor rate-limited us: 503 (unavailable on purpose, for a while) with Retry-After."""

    status = 503
    code = ErrorCode.LLM_RATE_LIMITED
    detail = "The language model is rate-limited; retry later."


class LLMInvalidOutput(EngineError):
    """The model's JSON stayed invalid after one repair attempt."""

    status = 502
    code = ErrorCode.LLM_INVALID_OUTPUT
    detail = "The language model returned an invalid answer."
