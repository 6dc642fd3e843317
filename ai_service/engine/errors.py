"""The engine's typed error family: each carries an HTTP status and a stable ``code``.

ai-service ships alone and cannot import ``jira_ai.errors``: both services map ``EngineError`` to
their ``{"detail", "code"}`` JSON in one exception handler. ``detail`` is ours, never the vendor's
text (which may echo prompts or keys).
"""

from __future__ import annotations


class EngineError(Exception):
    status: int = 502
    code: str = "llm_unavailable"
    default_detail: str = "The language model failed."

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        self.detail = detail or self.default_detail
        self.retry_after = retry_after
        super().__init__(self.detail)


class LLMUnavailable(EngineError):
    """The LLM endpoint refused, failed or could not be reached (retryable later)."""

    status = 502
    code = "llm_unavailable"
    default_detail = "The language model is unavailable."


class LLMTimeout(EngineError):
    status = 504
    code = "llm_timeout"
    default_detail = "The language model did not answer in time."


class LLMRateLimited(EngineError):
    """The vendor rate-limited us: 503 (unavailable on purpose, for a while) with Retry-After."""

    status = 503
    code = "llm_rate_limited"
    default_detail = "The language model is rate-limited; retry later."


class LLMInvalidOutput(EngineError):
    """The model's JSON stayed invalid after one repair attempt."""

    status = 502
    code = "llm_invalid_output"
    default_detail = "The language model returned an invalid answer."
