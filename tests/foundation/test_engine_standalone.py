"""The engine and the contract are plain Python: a process with no Django settings imports them,
builds an ``EngineConfig`` and runs a summary and an analysis against the sandbox LLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from ai_service.contract.schemas import Analysis, Summary
from tests.support.servers import ROOT

SCRIPT = """
import asyncio, json, sys

from django.conf import settings

from ai_service.contract.schemas import AnalyzeRequest, NormalizedIssue, SummarizeRequest
from ai_service.engine import EngineConfig, issue_analyze, jql_summarize

config = EngineConfig(provider="ollama", ollama_base_url=sys.argv[1], timeout_seconds=10.0)
issue = NormalizedIssue(
    key="PAY-1", summary="Card payments fail for EU users", status="In Progress",
    status_category="indeterminate", issue_type="Bug", assignee="Alice Martin",
)


async def main():
    summary = await jql_summarize(
        config=config,
        request=SummarizeRequest(jql="project = PAY", issues=[issue], total=3, language="en"),
    )
    analysis = await issue_analyze(
        config=config, request=AnalyzeRequest(issue=issue, language="en")
    )
    return summary, analysis


summary, analysis = asyncio.run(main())
print(json.dumps({
    "summary": summary.model_dump(mode="json"),
    "analysis": analysis.model_dump(mode="json"),
    "settings_configured": settings.configured,
}))
"""


def test_the_engine_runs_without_django_settings(sandbox_url: str) -> None:
    httpx.post(
        sandbox_url + "/_sandbox/llm", json={"tokens_per_second": 50_000}, timeout=5
    ).raise_for_status()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}

    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, sandbox_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["settings_configured"] is False
    summary = Summary.model_validate(out["summary"])
    analysis = Analysis.model_validate(out["analysis"])
    assert summary.coverage.model_dump() == {
        "analyzed": 1,
        "total": 3,
        "truncated": True,
        "chunks": 1,
    }
    assert summary.stats.by_status == {"In Progress": 1}
    assert (summary.provider, summary.model, summary.language) == ("ollama", "llama3.1:8b", "en")
    assert analysis.issue_key == "PAY-1"
    assert analysis.coverage.model_dump() == {"comments_analyzed": 0, "comments_total": 0}
