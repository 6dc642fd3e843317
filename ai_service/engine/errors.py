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
    # The server failed before writing anything and nothing of the request runs on: sending it
    # once more is safe (a crashed runner reloads). Never set for timeouts or queue answers.
    retryable = False


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


class LLMBusy(EngineError):
    """Our own queue for the LLM is full (every slot busy, ``queue_max`` waiting): 503 with
    Retry-After. Distinct from a vendor's rate limit: nothing is wrong upstream, we are full."""

    status = 503
    code = ErrorCode.LLM_BUSY
    detail = "The language model is busy with other requests; retry shortly."


class LLMQuotaExhausted(EngineError):
    """OpenAI's ``insufficient_quota``: no wait cures it, so no Retry-After."""

    status = 502
    code = ErrorCode.LLM_QUOTA_EXHAUSTED
    detail = (
        "The language model account has no credit left (quota exhausted); "
        "its billing must be updated."
    )


class LLMModelMissing(LLMUnavailable):
    """The model is not on the server (not pulled): an operator's fix, named in the detail."""

    def __init__(self, model: str, *, provider: str = "ollama") -> None:
        if provider == "ollama":
            detail = f"The model {model} is not on the Ollama server: run `ollama pull {model}`."
        else:
            detail = f"The model {model} does not exist or this account cannot use it."
        super().__init__(detail)


class LLMContextExceeded(LLMUnavailable):
    """The server cut the prompt to its context even after a smaller retry: no answer built on
    a prompt with its front missing (rules, task, issue) is shown."""

    detail = "The request did not fit the language model's context."


class LLMOutputCut(LLMInvalidOutput):
    """The answer stopped at its length limit (``done_reason``/``finish_reason`` ``length``)."""

    detail = "The language model's answer was cut at its length limit."


class QuestionNotUnderstood(ApiError):
    """The model found nothing to ask Jira in the question ("0000", a greeting): the question's
    fault, not the server's (not an :class:`EngineError`)."""

    status = 422
    code = ErrorCode.QUESTION_NOT_UNDERSTOOD
    detail = (
        "The question could not be turned into a JQL query: name a project, an issue type, a "
        "status, a person or a period."
    )
