"""Where the LLM work runs: ai-service over HTTP (``RemoteBackend``) or the engine in this process
(``LocalBackend``). Both take and return the wire schemas of ``ai_service.contract.schemas``, and
both fail with the one error family (``core.errors.ApiError``: the engine's own errors are in it).

The backend of an account is chosen from settings once per process: without ``AI_SERVICE_URL``
everything is local; with it, ``AI_SERVICE_CANARY_PERCENT`` of the accounts (a stable hash of the
account id, so an account stays on one side) go to ai-service and the rest stay local.

``AI_SERVICE_FALLBACK=local`` wraps the remote backend in :class:`FallbackBackend`: a call that
could not reach ai-service at all (connection refused or not made: the 503 of
:func:`transport_error`, so nothing of the request ran there) runs on the local engine instead,
counted in ``jira_ai_ai_service_fallback_total``. Anything else ai-service answered, and a stream
that broke after its first event, stays the error it is: the work may have started there, and a
user must not get half an answer from one side and the rest from the other. The default, ``off``,
answers 503 ``ai_service_unavailable``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import cache, partial
from typing import Any, Literal, Protocol, TypeVar

import httpx
from django.conf import settings
from pydantic import BaseModel

from ai_proxy.errors import AIServiceTimeout, AIServiceUnavailable
from ai_proxy.metrics import BACKEND_CALLS, SERVICE_FALLBACK
from ai_service.contract.questions import JqlProposal, JqlQuestionRequest
from ai_service.contract.release_notes import ReleaseNotes, ReleaseNotesRequest
from ai_service.contract.reports import (
    EpicReport,
    EpicReportRequest,
    SprintReport,
    SprintReportRequest,
)
from ai_service.contract.schemas import Analysis, AnalyzeRequest, SummarizeRequest, Summary
from ai_service.contract.tokens import service_token_issue
from ai_service.engine import (
    EngineConfig,
    epic_report,
    epic_report_stream,
    issue_analyze,
    issue_analyze_stream,
    jql_propose,
    jql_summarize,
    jql_summarize_stream,
    release_notes,
    release_notes_stream,
    sprint_report,
    sprint_report_stream,
)
from core.errors import ApiError, ErrorCode
from core.http import build_async_client, per_loop, retry_after_parse
from core.observability import request_id_var
from core.sse import Event, TooManyStreams, sse_read

logger = logging.getLogger(__name__)

BackendName = Literal["remote", "local"]
M = TypeVar("M", bound=BaseModel)

# Engine codes ai-service answers with, passed on as they are (status and code).
_PASSED_ON = {
    ErrorCode.LLM_UNAVAILABLE,
    ErrorCode.LLM_TIMEOUT,
    ErrorCode.LLM_INVALID_OUTPUT,
    ErrorCode.LLM_RATE_LIMITED,
    ErrorCode.LLM_BUSY,
    ErrorCode.LLM_QUOTA_EXHAUSTED,
    ErrorCode.QUESTION_NOT_UNDERSTOOD,
}
# Connections to ai-service beside the streams (non-streamed calls of the same moment).
EXTRA_CONNECTIONS = 64


class AIBackend(Protocol):
    name: BackendName

    async def summarize(self, *, account_id: str, request: SummarizeRequest) -> Summary: ...

    async def analyze(self, *, account_id: str, request: AnalyzeRequest) -> Analysis: ...

    def analyze_stream(
        self, *, account_id: str, request: AnalyzeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]: ...

    def summarize_stream(
        self, *, account_id: str, request: SummarizeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]: ...

    async def sprint_report(
        self, *, account_id: str, request: SprintReportRequest
    ) -> SprintReport: ...

    def sprint_report_stream(
        self, *, account_id: str, request: SprintReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]: ...

    async def epic_report(self, *, account_id: str, request: EpicReportRequest) -> EpicReport: ...

    def epic_report_stream(
        self, *, account_id: str, request: EpicReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]: ...

    async def release_notes(
        self, *, account_id: str, request: ReleaseNotesRequest
    ) -> ReleaseNotes: ...

    def release_notes_stream(
        self, *, account_id: str, request: ReleaseNotesRequest, request_id: str
    ) -> AsyncGenerator[Event, None]: ...
    async def jql_propose(self, *, account_id: str, request: JqlQuestionRequest) -> JqlProposal: ...


@cache
def engine_config() -> EngineConfig:
    return EngineConfig.from_settings(settings)


class LocalBackend:
    """The engine in this process (the same code ai-service runs)."""

    name: BackendName = "local"

    async def summarize(self, *, account_id: str, request: SummarizeRequest) -> Summary:
        return await jql_summarize(config=engine_config(), request=request)

    async def analyze(self, *, account_id: str, request: AnalyzeRequest) -> Analysis:
        return await issue_analyze(config=engine_config(), request=request)

    def analyze_stream(
        self, *, account_id: str, request: AnalyzeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return issue_analyze_stream(config=engine_config(), request=request)

    def summarize_stream(
        self, *, account_id: str, request: SummarizeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return jql_summarize_stream(config=engine_config(), request=request, account_id=account_id)

    async def sprint_report(self, *, account_id: str, request: SprintReportRequest) -> SprintReport:
        return await sprint_report(config=engine_config(), request=request)

    def sprint_report_stream(
        self, *, account_id: str, request: SprintReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return sprint_report_stream(config=engine_config(), request=request)

    async def epic_report(self, *, account_id: str, request: EpicReportRequest) -> EpicReport:
        return await epic_report(config=engine_config(), request=request)

    def epic_report_stream(
        self, *, account_id: str, request: EpicReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return epic_report_stream(config=engine_config(), request=request)

    async def release_notes(self, *, account_id: str, request: ReleaseNotesRequest) -> ReleaseNotes:
        return await release_notes(config=engine_config(), request=request)

    def release_notes_stream(
        self, *, account_id: str, request: ReleaseNotesRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return release_notes_stream(config=engine_config(), request=request)

    async def jql_propose(self, *, account_id: str, request: JqlQuestionRequest) -> JqlProposal:
        return await jql_propose(config=engine_config(), request=request)


class RemoteBackend:
    """ai-service over HTTP: a signed bearer token per request (``service_token_issue``), our
    ``X-Request-ID``, and the ``traceparent`` that OpenTelemetry's httpx instrumentation adds when
    tracing is on (the clients are built lazily, after ``configure_tracing`` patched httpx).

    ai-service's ``{"detail", "code"}`` errors come back as ours: engine codes pass on as they
    are; anything else (a refused token, a body it would not take) is our fault, not the user's,
    and becomes 502 ``ai_service_unavailable``. Refused connections are 503, timeouts 504.
    """

    name: BackendName = "remote"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        llm_timeout = float(settings.LLM_TIMEOUT_SECONDS)
        # A summary may take a map step, a combine step and a repair turn (each bounded by the
        # total LLM timeout once it holds its slot): ai-service answers (504 llm_timeout) well
        # within this budget.
        self.call_timeout = llm_timeout * 6 + 10
        # Streams carry a keepalive comment at least every 15 s, and an LLM that stalls ends in
        # ai-service's own llm_timeout error event.
        self.stream_timeout = max(llm_timeout * 2 + 10, 60.0)
        self._clients = per_loop(self._client_build)

    def _client_build(self) -> httpx.AsyncClient:
        """One pool per event loop, sized for every stream this process allows at once."""
        return build_async_client(
            base_url=self.base_url,
            read_timeout=self.call_timeout,
            max_connections=int(settings.AI_MAX_STREAMS) + EXTRA_CONNECTIONS,
        )

    def client(self) -> httpx.AsyncClient:
        return self._clients.get()

    def _headers(self, account_id: str, request_id: str | None = None) -> dict[str, str]:
        token = service_token_issue(account_id=account_id, secrets=settings.AI_SHARED_SECRET)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        request_id = request_id or request_id_var.get()
        if request_id and request_id != "-":
            headers["X-Request-ID"] = request_id
        return headers

    async def _post(self, path: str, *, account_id: str, body: str) -> bytes:
        try:
            response = await self.client().post(
                path, content=body, headers=self._headers(account_id)
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        if response.status_code != 200:
            raise answered_error(response.status_code, response.content, response.headers)
        return response.content

    async def _call(self, path: str, *, account_id: str, request: BaseModel, out: type[M]) -> M:
        content = await self._post(path, account_id=account_id, body=request.model_dump_json())
        try:
            return out.model_validate_json(content)
        except ValueError as exc:
            raise AIServiceUnavailable("The AI service sent an unreadable answer.") from exc

    async def summarize(self, *, account_id: str, request: SummarizeRequest) -> Summary:
        return await self._call(
            "/ai/summarize-jql", account_id=account_id, request=request, out=Summary
        )

    async def analyze(self, *, account_id: str, request: AnalyzeRequest) -> Analysis:
        return await self._call(
            "/ai/analyze-issue", account_id=account_id, request=request, out=Analysis
        )

    def analyze_stream(
        self, *, account_id: str, request: AnalyzeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            "/ai/analyze-issue/stream",
            account_id=account_id,
            request=request,
            request_id=request_id,
        )

    def summarize_stream(
        self, *, account_id: str, request: SummarizeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            "/ai/summarize-jql/stream",
            account_id=account_id,
            request=request,
            request_id=request_id,
        )

    async def sprint_report(self, *, account_id: str, request: SprintReportRequest) -> SprintReport:
        return await self._call(
            "/ai/sprint-report", account_id=account_id, request=request, out=SprintReport
        )

    def sprint_report_stream(
        self, *, account_id: str, request: SprintReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            "/ai/sprint-report/stream",
            account_id=account_id,
            request=request,
            request_id=request_id,
        )

    async def epic_report(self, *, account_id: str, request: EpicReportRequest) -> EpicReport:
        return await self._call(
            "/ai/epic-report", account_id=account_id, request=request, out=EpicReport
        )

    async def jql_propose(self, *, account_id: str, request: JqlQuestionRequest) -> JqlProposal:
        return await self._call(
            "/ai/jql-from-question", account_id=account_id, request=request, out=JqlProposal
        )

    def epic_report_stream(
        self, *, account_id: str, request: EpicReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            "/ai/epic-report/stream",
            account_id=account_id,
            request=request,
            request_id=request_id,
        )

    async def release_notes(self, *, account_id: str, request: ReleaseNotesRequest) -> ReleaseNotes:
        return await self._call(
            "/ai/release-notes", account_id=account_id, request=request, out=ReleaseNotes
        )

    def release_notes_stream(
        self, *, account_id: str, request: ReleaseNotesRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            "/ai/release-notes/stream",
            account_id=account_id,
            request=request,
            request_id=request_id,
        )

    async def _stream(
        self, path: str, *, account_id: str, request: BaseModel, request_id: str
    ) -> AsyncGenerator[Event, None]:
        """ai-service's events as they arrive (no buffering: each is yielded as soon as its
        blank line is read), their data passed on as received; our writer numbers them after the
        events the API sent itself. Closing this generator closes the upstream response, and
        ai-service's engine then closes its LLM streams."""
        try:
            async with self.client().stream(
                "POST",
                path,
                content=request.model_dump_json(),
                headers=self._headers(account_id, request_id),
                timeout=httpx.Timeout(self.stream_timeout, connect=5.0, pool=10.0),
            ) as response:
                if response.status_code != 200:
                    body = await response.aread()
                    raise answered_error(response.status_code, body, response.headers)
                events = sse_read(response)
                try:
                    async for event in events:
                        yield event
                        if event.name in ("done", "error"):
                            return
                finally:
                    await events.aclose()
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        raise AIServiceUnavailable("The AI service's stream ended early.")


def _unreachable(exc: ApiError) -> bool:
    """ai-service was not reached at all (see :func:`transport_error`)."""
    return isinstance(exc, AIServiceUnavailable) and exc.status == 503


class FallbackBackend:
    """The remote backend, and the local engine when ai-service cannot be reached (module doc)."""

    name: BackendName = "remote"

    def __init__(self, remote: RemoteBackend, local: LocalBackend, endpoint: str) -> None:
        self.remote = remote
        self.local = local
        self.endpoint = endpoint

    def _fell_back(self) -> None:
        logger.warning("ai-service unreachable: %s runs on the local engine", self.endpoint)
        SERVICE_FALLBACK.labels(self.endpoint).inc()

    async def _call(
        self, remote: Callable[[], Awaitable[M]], local: Callable[[], Awaitable[M]]
    ) -> M:
        try:
            return await remote()
        except ApiError as exc:
            if not _unreachable(exc):
                raise
        self._fell_back()
        return await local()

    async def _stream(
        self,
        remote: Callable[[], AsyncGenerator[Event, None]],
        local: Callable[[], AsyncGenerator[Event, None]],
    ) -> AsyncGenerator[Event, None]:
        events = remote()
        try:
            try:
                first = await anext(events)
            except StopAsyncIteration:
                return
            except ApiError as exc:
                if not _unreachable(exc):
                    raise
                await events.aclose()
                self._fell_back()
                events = local()
                first = await anext(events)
            yield first
            async for event in events:
                yield event
        finally:
            await events.aclose()

    def _both(self, method: str, **kwargs: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
        """The same call on ai-service and on the local engine (both an :class:`AIBackend`)."""
        return (
            partial(getattr(self.remote, method), **kwargs),
            partial(getattr(self.local, method), **kwargs),
        )

    async def summarize(self, *, account_id: str, request: SummarizeRequest) -> Summary:
        return await self._call(*self._both("summarize", account_id=account_id, request=request))

    async def analyze(self, *, account_id: str, request: AnalyzeRequest) -> Analysis:
        return await self._call(*self._both("analyze", account_id=account_id, request=request))

    async def sprint_report(self, *, account_id: str, request: SprintReportRequest) -> SprintReport:
        return await self._call(
            *self._both("sprint_report", account_id=account_id, request=request)
        )

    async def epic_report(self, *, account_id: str, request: EpicReportRequest) -> EpicReport:
        return await self._call(*self._both("epic_report", account_id=account_id, request=request))

    async def release_notes(self, *, account_id: str, request: ReleaseNotesRequest) -> ReleaseNotes:
        return await self._call(
            *self._both("release_notes", account_id=account_id, request=request)
        )

    async def jql_propose(self, *, account_id: str, request: JqlQuestionRequest) -> JqlProposal:
        return await self._call(*self._both("jql_propose", account_id=account_id, request=request))

    def _both_stream(
        self, method: str, *, account_id: str, request: BaseModel, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._stream(
            *self._both(method, account_id=account_id, request=request, request_id=request_id)
        )

    def analyze_stream(
        self, *, account_id: str, request: AnalyzeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._both_stream(
            "analyze_stream", account_id=account_id, request=request, request_id=request_id
        )

    def summarize_stream(
        self, *, account_id: str, request: SummarizeRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._both_stream(
            "summarize_stream", account_id=account_id, request=request, request_id=request_id
        )

    def sprint_report_stream(
        self, *, account_id: str, request: SprintReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._both_stream(
            "sprint_report_stream", account_id=account_id, request=request, request_id=request_id
        )

    def epic_report_stream(
        self, *, account_id: str, request: EpicReportRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._both_stream(
            "epic_report_stream", account_id=account_id, request=request, request_id=request_id
        )

    def release_notes_stream(
        self, *, account_id: str, request: ReleaseNotesRequest, request_id: str
    ) -> AsyncGenerator[Event, None]:
        return self._both_stream(
            "release_notes_stream", account_id=account_id, request=request, request_id=request_id
        )


def transport_error(exc: httpx.HTTPError) -> ApiError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        logger.warning("ai-service unreachable: %s", type(exc).__name__)
        return AIServiceUnavailable(status=503)
    if isinstance(exc, httpx.TimeoutException):
        logger.warning("ai-service timed out: %s", type(exc).__name__)
        return AIServiceTimeout()
    logger.warning("ai-service failed: %s", type(exc).__name__)
    return AIServiceUnavailable()


def answered_error(status: int, body: bytes, headers: httpx.Headers) -> ApiError:
    """ai-service's error answer as ours (its ``detail`` is its own text, never a vendor's)."""
    try:
        payload = json.loads(body)
        code, detail = str(payload["code"]), str(payload["detail"])
    except (ValueError, KeyError, TypeError):
        code, detail = "", ""
    retry_after = retry_after_parse(headers.get("Retry-After"))
    if code in _PASSED_ON:
        return ApiError(detail, code=ErrorCode(code), status=status, retry_after=retry_after)
    if code == ErrorCode.TOO_MANY_STREAMS:
        return TooManyStreams(retry_after=retry_after)
    logger.error("ai-service refused a call: %s %s", status, code or "(no code)")
    return AIServiceUnavailable()


def canary_bucket(account_id: str) -> int:
    """0..99, stable across processes and restarts (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(account_id.encode()).digest()[:8], "big") % 100


@cache
def _backends() -> tuple[LocalBackend, RemoteBackend | None]:
    url = str(settings.AI_SERVICE_URL or "")
    return LocalBackend(), (RemoteBackend(url) if url else None)


def backend_for(account_id: str, endpoint: str) -> AIBackend:
    """The account's backend (counted by endpoint and backend in Prometheus)."""
    local, remote = _backends()
    chosen: AIBackend = local
    if remote is not None and canary_bucket(account_id) < int(settings.AI_SERVICE_CANARY_PERCENT):
        chosen = remote
        if settings.AI_SERVICE_FALLBACK == "local":
            chosen = FallbackBackend(remote, local, endpoint)
    BACKEND_CALLS.labels(endpoint, chosen.name).inc()
    return chosen
