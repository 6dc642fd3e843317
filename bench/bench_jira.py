"""Jira client benchmark: the 1,000 newest issues of a project and all their comments, with 50 ms
of latency injected by the sandbox on every Jira request.

Side by side in one run: jira-ai's async client (through ``issues_search_with_comments``, cold
cache), the same work repeated within the cache TTL, and atlassian-python-api 5.0.5 (the maintained
synchronous Jira Cloud client that has the enhanced JQL search) doing the same fetches the way it
is used: ``enhanced_jql`` page by page, then each issue's comments page by page.

Each side runs in its own process so that its peak memory (``ru_maxrss``) is its own; request
counts come from the sandbox's ``/_sandbox/stats``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

CLOUD_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:acme"))
ACCOUNT = "712020:alice-0001"
# PAY-4 is excluded for both sides: its description is nested deeper than the json module reads,
# and atlassian-python-api then hands back the page as raw text (no nextPageToken to go on with),
# while jira-ai reads the page and reports that one description as unreadable.
JQL = "project = PAY AND key != PAY-4 ORDER BY created DESC"
LIMIT = 1000
LATENCY_MS = 50
FIELDS = [
    "summary", "status", "priority", "issuetype", "assignee", "reporter", "labels", "created",
    "updated", "duedate", "parent", "fixVersions", "description", "customfield_10016",
    "customfield_10020",
]  # fmt: skip


def _token(sandbox_url: str) -> str:
    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        consent = http.post(
            "/authorize",
            data={
                "client_id": "jira-ai-demo",
                "redirect_uri": "http://127.0.0.1:8000/oauth/callback",
                "scope": "read:jira-work read:jira-user offline_access",
                "state": secrets.token_urlsafe(8),
                "audience": "api.atlassian.com",
                "response_type": "code",
                "prompt": "consent",
                "account_id": ACCOUNT,
                "decision": "accept",
            },
        )
        code = parse_qs(urlparse(consent.headers["location"]).query)["code"][0]
        tokens = http.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "client_id": "jira-ai-demo",
                "client_secret": "jira-ai-demo-secret",
                "code": code,
                "redirect_uri": "http://127.0.0.1:8000/oauth/callback",
            },
        )
        return str(tokens.json()["access_token"])


def _jira_requests(sandbox_url: str) -> int:
    routes = httpx.get(sandbox_url + "/_sandbox/stats", timeout=10).json()["routes"]
    return sum(n for route, n in routes.items() if "/ex/jira/" in route)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the two sides (each run in a child process) -----------------------------------------------


def _peer(sandbox_url: str, token: str) -> dict[str, Any]:
    from atlassian import Jira

    jira = Jira(url=f"{sandbox_url}/ex/jira/{CLOUD_ID}", token=token, cloud=True, api_version="3")
    baseline = _rss_mb()
    started = time.perf_counter()
    issues: list[dict[str, Any]] = []
    page_token = None
    while len(issues) < LIMIT:
        page: Any = jira.enhanced_jql(
            JQL, fields=FIELDS, nextPageToken=page_token, limit=min(100, LIMIT - len(issues))
        )
        issues.extend(page["issues"])
        page_token = page.get("nextPageToken")
        if page.get("isLast") or not page_token:
            break
    comments = 0
    for issue in issues:
        first: Any = jira.issue_get_comments(issue["key"])
        got, total = list(first["comments"]), first["total"]
        while len(got) < total:
            more: Any = jira.get(
                f"rest/api/3/issue/{issue['key']}/comment",
                params={"startAt": len(got), "maxResults": 100},
            )
            if not more["comments"]:
                break
            got.extend(more["comments"])
        comments += len(got)
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "issues": len(issues),
        "comments": comments,
        "peak_rss_mb": _rss_mb(),
        "rss_growth_mb": _rss_mb() - baseline,
    }


def _ours(sandbox_url: str, token: str) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jira_ai.settings.test")
    import django

    django.setup()
    from accounts.context import UserContext
    from core.redis import get_async_redis
    from jira import services
    from jira.breaker import Breaker
    from jira.client import JiraClient, JiraClientConfig

    async def provider(*, force_refresh: bool = False) -> str:
        return token

    async def main() -> list[dict[str, Any]]:
        redis = get_async_redis()
        stale = [k async for k in redis.scan_iter(match="jira:v1:bench:*", count=1000)]
        if stale:
            await redis.delete(*stale)
        ctx = UserContext("bench", "bench", "bench", CLOUD_ID, "https://acme.atlassian.net")
        config = JiraClientConfig.from_settings(api_url=sandbox_url)
        breaker = Breaker(redis, threshold=5, reset_seconds=30, prefix="bench:breaker")
        runs = []
        baseline = _rss_mb()
        for label in ("jira-ai (cold cache)", "jira-ai (repeat, cached)"):
            client = JiraClient(
                cloud_id=CLOUD_ID,
                site_url=ctx.site_url,
                token_provider=provider,
                config=config,
                breaker=breaker,
            )
            before = _jira_requests(sandbox_url)
            started = time.perf_counter()
            result = await services.issues_search_with_comments(
                ctx=ctx, jql=JQL, limit=LIMIT, client=client
            )
            wall = time.perf_counter() - started
            runs.append(
                {
                    "client": label,
                    "wall_s": wall,
                    "issues": len(result.issues),
                    "comments": sum(len(p.comments) for p in result.comments.values()),
                    "jira_requests": _jira_requests(sandbox_url) - before,
                    "peak_rss_mb": _rss_mb(),
                    "rss_growth_mb": _rss_mb() - baseline,
                }
            )
        return runs

    return {"runs": asyncio.run(main())}


# --- orchestration -----------------------------------------------------------------------------


def _child(side: str, sandbox_url: str, token: str) -> dict[str, Any]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_jira", side, sandbox_url, token],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench side {side} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _prepare(sandbox_url: str) -> str:
    httpx.post(sandbox_url + "/_sandbox/reset", timeout=10).raise_for_status()
    httpx.post(
        sandbox_url + "/_sandbox/faults",
        json={"target": "jira", "mode": "delay", "delay_ms": LATENCY_MS},
        timeout=10,
    ).raise_for_status()
    return _token(sandbox_url)


def run() -> dict[str, Any]:
    from tests.support.servers import start_sandbox

    sandbox = start_sandbox()
    try:
        token = _prepare(sandbox.url)
        ours = _child("ours", sandbox.url, token)["runs"]
        token = _prepare(sandbox.url)
        peer = _child("peer", sandbox.url, token)
        peer.update(client="atlassian-python-api 5.0.5", jira_requests=_jira_requests(sandbox.url))
    finally:
        sandbox.stop()
    rows = [*ours, peer]
    speedup = peer["wall_s"] / ours[0]["wall_s"]
    return {
        "name": "jira",
        "work": f"{JQL!r}, {LIMIT} issues and all their comments, {LATENCY_MS} ms per Jira request",
        "rows": rows,
        "speedup_vs_peer": round(speedup, 1),
        "summary": [
            f"jira-ai is {speedup:.1f}x faster than atlassian-python-api with "
            f"{ours[0]['jira_requests']} vs {peer['jira_requests']} Jira requests; "
            f"the repeat within the cache TTL made {ours[1]['jira_requests']} Jira requests."
        ],
    }


if __name__ == "__main__":
    side, url, access_token = sys.argv[1:4]
    result = _ours(url, access_token) if side == "ours" else _peer(url, access_token)
    print(json.dumps(result))
