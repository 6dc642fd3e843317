"""ai-service runs from exactly what its Docker stage copies (no Docker engine needed): the paths of
the ``ai-service`` target, read from the Dockerfile, are copied into an empty directory, and Daphne
serves ai-service from there, with the sandbox as its LLM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai_service.contract.tokens import service_token_issue
from tests.foundation.dockerfile import copies
from tests.support.servers import ServerProcess, start_daphne

TARGET = "ai-service"


@pytest.fixture(scope="session")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding what the image's WORKDIR holds."""
    root = tmp_path_factory.mktemp("ai-service-image")
    for copy in copies(TARGET):
        target = root / copy.target
        if copy.source.is_dir():
            shutil.copytree(
                copy.source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(copy.source, target)
    return root


@pytest.fixture(scope="session")
def image_env(api_env: dict[str, str]) -> dict[str, str]:
    """The process environment, without anything that would put the repository on the path."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**inherited, **api_env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}


@pytest.fixture(scope="session")
def image_server(image_root: Path, image_env: dict[str, str]) -> Iterator[ServerProcess]:
    """``daphne ai_service.asgi:application`` started in ``image_root``, as the image's CMD does
    in its WORKDIR (Daphne puts the working directory on ``sys.path``), once per session."""
    try:
        server = start_daphne(
            "ai_service.asgi:application", image_env, cwd=image_root, inherit_env=False
        )
    except RuntimeError as exc:
        pytest.fail(f"ai-service did not start from the image's files: {exc}")
    yield server
    server.stop()


@pytest.fixture
def fast_sandbox_llm(sandbox_url: str) -> None:
    httpx.post(
        sandbox_url + "/_sandbox/llm", json={"tokens_per_second": 50_000}, timeout=5
    ).raise_for_status()


def analyze_body() -> dict[str, Any]:
    return {
        "issue": {
            "key": "PAY-1",
            "url": "https://example.atlassian.net/browse/PAY-1",
            "summary": "Card payments fail for EU users",
            "status": "In Progress",
            "status_category": "indeterminate",
            "issue_type": "Bug",
            "description": "Checkout returns an error after 3-D Secure.",
        },
        "comments": [{"id": "10", "author": "Bob", "body": "Blocked by the PSP."}],
        "comments_total": 1,
        "language": "en",
    }


def test_the_image_copies_only_core_and_ai_service() -> None:
    targets = sorted(str(copy.target) for copy in copies(TARGET))

    assert targets == ["ai_service", "core", "requirements.txt"]


def test_nothing_else_of_the_project_is_importable_there(
    image_root: Path, image_env: dict[str, str]
) -> None:
    probe = (
        "import importlib.util as u; "
        "print(*[m for m in ('accounts', 'ai_proxy', 'jira_ai', 'sandbox', 'tests', 'manage') "
        "if u.find_spec(m)])"
    )

    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=image_root,
        env=image_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert found.stdout.strip() == ""
    assert sorted(p.name for p in image_root.iterdir()) == [
        "ai_service",
        "core",
        "requirements.txt",
    ]


def test_readyz_from_the_image_files(image_server: ServerProcess, sandbox_url: str) -> None:
    response = httpx.get(image_server.url + "/readyz", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"redis": "ok", "llm": "ok"}}


def test_a_signed_analysis_from_the_image_files(
    image_server: ServerProcess, image_env: dict[str, str], fast_sandbox_llm: None
) -> None:
    token = service_token_issue(account_id="acc-1", secrets=[image_env["AI_SHARED_SECRET"]])

    response = httpx.post(
        image_server.url + "/ai/analyze-issue",
        json=analyze_body(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["issue_key"] == "PAY-1"
    assert body["coverage"] == {"comments_analyzed": 1, "comments_total": 1}
    assert body["language"] == "en"
    assert body["provider"] == "ollama"


def test_an_unsigned_analysis_is_refused_there(image_server: ServerProcess) -> None:
    response = httpx.post(image_server.url + "/ai/analyze-issue", json=analyze_body(), timeout=5)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_service_token"
