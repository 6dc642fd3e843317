"""The LLM engine: plain Python (no Django settings), used by ai-service and by the public API's
local fallback. Callers build an ``EngineConfig`` from their settings and call:

- ``jql_summarize(config=..., request=SummarizeRequest) -> Summary``
- ``issue_analyze(config=..., request=AnalyzeRequest) -> Analysis``
- ``issue_analyze_stream(config=..., request=AnalyzeRequest) -> AsyncIterator[core.sse.Event]``
- ``jql_summarize_stream(config=..., request=SummarizeRequest, account_id=...)
  -> AsyncIterator[core.sse.Event]`` (progress, map results kept in Redis)
- ``sprint_report(config=..., request=SprintReportRequest) -> SprintReport``,
  ``epic_report(config=..., request=EpicReportRequest) -> EpicReport`` and their streams
  ``sprint_report_stream`` / ``epic_report_stream`` (:mod:`.reports`)
- ``release_notes(config=..., request=ReleaseNotesRequest) -> ReleaseNotes`` and
  ``release_notes_stream`` (:mod:`.release_notes`)
- ``jql_propose(config=..., request=JqlQuestionRequest) -> JqlProposal`` (:mod:`.questions`)

Failures are ``EngineError`` subclasses of ``core.errors.ApiError`` (``status``, ``code``,
``detail``, ``retry_after``), the error family of both services.
"""

from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import (
    EngineError,
    LLMBusy,
    LLMContextExceeded,
    LLMInvalidOutput,
    LLMModelMissing,
    LLMOutputCut,
    LLMQuotaExhausted,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from ai_service.engine.pipeline import issue_analyze, jql_summarize
from ai_service.engine.prompts import PROMPT_VERSION
from ai_service.engine.questions import jql_propose
from ai_service.engine.release_notes import release_notes, release_notes_stream
from ai_service.engine.reports import (
    epic_report,
    epic_report_stream,
    sprint_report,
    sprint_report_stream,
)
from ai_service.engine.stream import issue_analyze_stream
from ai_service.engine.summary_stream import jql_summarize_stream

__all__ = [
    "PROMPT_VERSION",
    "EngineConfig",
    "EngineError",
    "LLMBusy",
    "LLMContextExceeded",
    "LLMInvalidOutput",
    "LLMModelMissing",
    "LLMOutputCut",
    "LLMQuotaExhausted",
    "LLMRateLimited",
    "LLMTimeout",
    "LLMUnavailable",
    "epic_report",
    "epic_report_stream",
    "issue_analyze",
    "issue_analyze_stream",
    "jql_propose",
    "jql_summarize",
    "jql_summarize_stream",
    "release_notes",
    "release_notes_stream",
    "sprint_report",
    "sprint_report_stream",
]
