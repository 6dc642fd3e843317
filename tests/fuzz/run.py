"""``make fuzz``: schemathesis over both OpenAPI documents, against real processes on loopback.

It starts the sandbox (LLM at full speed: the cases, not the model's pace, are what is
measured), ai-service and the public API (routed to ai-service) under Daphne, on a SQLite file
and a Redis database index of their own (``FUZZ_REDIS_DB``, default 13, flushed before and
after), signs Alice in through the sandbox's OAuth consent, then runs ``schemathesis run``:

- the public API with the session cookie and its ``X-CSRFToken`` header, ``/login``,
  ``/logout`` and ``/oauth/callback`` excluded (not in the document, and signing out would end
  the session under test), ``AI_USER_REQUESTS_PER_MINUTE`` raised so the quota is not what
  answers;
- ai-service with a freshly signed service token on every request (``tests/fuzz/hooks.py``).

Checks: exactly ``not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance``. The exit status is non-zero if either run found a failure or ran
fewer cases than :data:`MIN_CASES`. Cases per service: over 1,000 by default, about 100 with
``CI=true`` (the smoke CI runs; :data:`MAX_EXAMPLES`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.ids import ACME, AI_SHARED_SECRET, ALICE
from tests.support.servers import ROOT, ServerProcess, start_api, start_daphne, start_sandbox
from tests.support.signin import sign_in

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
# Not the coverage phase: its boundary cases of every schema number in the thousands per service
# whatever --max-examples says (4,810 for ai-service at 3), and on this Python (3.11.7)
# hypothesis crashes inside it describing a strategy (``SystemError: AST constructor recursion
# depth mismatch``), an error of the tool, not of the API.
PHASES = "examples,fuzzing,stateful"
EXCLUDED_PATHS = ("/login", "/logout", "/oauth/callback")
# The sandbox's LLM writes as fast as it can (its stock Ollama context, queue and cuts stay).
FAST_SANDBOX = ("--llm-tokens-per-second", "1000000", "--llm-first-token-ms", "0")


def _redis_url(db: int) -> str:
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def _migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


async def _session_headers(api_url: str) -> list[str]:
    client = await sign_in(api_url, ALICE, cloud_id=ACME)
    try:
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return [f"Cookie: {cookie}", f"X-CSRFToken: {client.headers['X-CSRFToken']}"]
    finally:
        await client.aclose()


def _schemathesis(
    name: str,
    server: ServerProcess,
    *,
    headers: list[str],
    max_examples: int,
    report: Path,
    env: dict[str, str] | None = None,
) -> dict[str, int]:
    """One ``schemathesis run``, its output shown as it comes; the cases it generated."""
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        os.environ.get("FUZZ_SEED", "18"),
        "--workers",
        "2",
        "--phases",
        PHASES,
        "--request-timeout",
        "120",
        "--suppress-health-check",
        "too_slow,filter_too_much",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
    ]
    for path in EXCLUDED_PATHS:
        cmd += ["--exclude-path", path]
    for header in headers:
        cmd += ["--header", header]
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # shown as it comes, kept for the counts
            sys.stdout.write(line)
            lines.append(line)
    sys.stdout.flush()
    summary = _cases("".join(lines))
    summary["exit"] = proc.returncode
    summary["seconds"] = round(time.monotonic() - started)
    print(f"fuzz {name}: {json.dumps(summary)}", flush=True)
    return summary


# Per operation: ai-service has 13 operations, the public API 22 (and more that the document
# lists as they come), so ai-service needs more per operation for the same count per service.
MAX_EXAMPLES = {
    False: {"api": 50, "ai-service": 120},  # over 1,000 cases per service
    True: {"api": 5, "ai-service": 9},  # the CI smoke: about 100 per service
}
# What a run at those budgets must reach (hypothesis may stop an operation early, once it has
# drawn every distinct case it can), else the run fails: the README's figures stay true.
MIN_CASES = {False: 1000, True: 50}

_CASES = re.compile(r"Test cases:\s*(\d+) generated")


def _cases(output: str) -> dict[str, int]:
    match = _CASES.search(output)
    return {"cases": int(match.group(1))} if match else {}


def main(argv: list[str] | None = None) -> int:
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        help="per operation, both services (default: enough for the counts of the module)",
    )
    parser.add_argument("--only", choices=("api", "ai-service"), default=None)
    args = parser.parse_args(argv)

    redis_url = _redis_url(int(os.environ.get("FUZZ_REDIS_DB", "13")))
    _flush(redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="jira-ai-fuzz-"))
    sandbox = start_sandbox(FAST_SANDBOX)
    servers = [sandbox]
    results: dict[str, dict[str, int]] = {}
    try:
        env = {
            "DJANGO_SETTINGS_MODULE": "jira_ai.settings.test",
            "JIRA_AI_TEST_DB": str(workdir / "db.sqlite3"),
            "DATABASE_URL": "",
            "REDIS_URL": redis_url,
            "ATLASSIAN_AUTH_URL": sandbox.url,
            "ATLASSIAN_API_URL": sandbox.url,
            "OLLAMA_BASE_URL": sandbox.url,
            "OPENAI_BASE_URL": sandbox.url + "/v1",
            "LLM_PROVIDER": "ollama",
            "AI_SHARED_SECRET": AI_SHARED_SECRET,
            "TOKEN_ENCRYPTION_KEY": "",
            "NO_PROXY": "127.0.0.1,localhost",
            # Not DEBUG: the error pages and checks of a deployment. A throwaway key.
            "DJANGO_DEBUG": "false",
            # Probes of a loaded machine (2 cores, both services busy with the cases): a slow
            # answer is not a failed peer.
            "HEALTH_CHECK_TIMEOUT_SECONDS": "10",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(32),
        }
        _migrate(env)
        ai_service = start_daphne(
            "ai_service.asgi:application", {**env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
        )
        servers.append(ai_service)
        api = start_api(
            env,
            client_id="jira-ai-fuzz",
            extra_env={
                "AI_SERVICE_URL": ai_service.url,
                "AI_USER_REQUESTS_PER_MINUTE": "1000000",
            },
        )
        servers.append(api)
        if args.only in (None, "api"):
            headers = asyncio.run(_session_headers(api.url))
            results["api"] = _schemathesis(
                "api",
                api,
                headers=headers,
                max_examples=args.max_examples or MAX_EXAMPLES[ci]["api"],
                report=workdir / "api.xml",
            )
        if args.only in (None, "ai-service"):
            results["ai-service"] = _schemathesis(
                "ai-service",
                ai_service,
                headers=[],
                max_examples=args.max_examples or MAX_EXAMPLES[ci]["ai-service"],
                report=workdir / "ai-service.xml",
                env={
                    "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
                    "FUZZ_AI_SHARED_SECRET": AI_SHARED_SECRET,
                },
            )
    finally:
        for server in reversed(servers):
            server.terminate()
        for server in reversed(servers):
            server.stop()
        _flush(redis_url)
    least = 1 if args.max_examples else MIN_CASES[ci]
    failed = [
        name
        for name, summary in results.items()
        if summary["exit"] != 0 or summary.get("cases", 0) < least
    ]
    if failed:
        print(f"fuzz: failed ({', '.join(failed)}), or fewer than {least} cases", flush=True)
    print(f"fuzz: {json.dumps(results)} (JUnit reports in {workdir})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
