"""The LLM engine: plain Python (no Django settings), used by ai-service and by the public API's
local fallback. Callers build an ``EngineConfig`` from their settings and call:

- ``jql_summarize(config=..., request=SummarizeRequest) -> Summary``
- ``issue_analyze(config=..., request=AnalyzeRequest) -> Analysis``
- ``issue_analyze_stream(config=..., request=AnalyzeRequest) -> AsyncIterator[StreamEvent]``

Failures are ``EngineError`` subclasses (``status``, ``code``, ``detail``, ``retry_after``).
"""

from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMInvalidOutput,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from ai_service.engine.pipeline import issue_analyze, jql_summarize
from ai_service.engine.prompts import PROMPT_VERSION
from ai_service.engine.sse import KEEPALIVE, OPEN, sse_comment, sse_encode, sse_frame
from ai_service.engine.stream import StreamEvent, issue_analyze_stream

__all__ = [
    "KEEPALIVE",
    "OPEN",
    "PROMPT_VERSION",
    "EngineConfig",
    "EngineError",
    "LLMInvalidOutput",
    "LLMRateLimited",
    "LLMTimeout",
    "LLMUnavailable",
    "StreamEvent",
    "issue_analyze",
    "issue_analyze_stream",
    "jql_summarize",
    "sse_comment",
    "sse_encode",
    "sse_frame",
]
