"""Settings load in each mode; production refuses to start half-configured."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.servers import ROOT

PROD_ENV = {
    "DJANGO_SECRET_KEY": "prod-" + "k3y-Zq9!xW7@vB2#" * 4,
    "ALLOWED_HOSTS": "jira-ai.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "TOKEN_ENCRYPTION_KEY": "N2JjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=",
    "ATLASSIAN_CLIENT_ID": "client",
    "ATLASSIAN_CLIENT_SECRET": "secret",
}


def run_manage(
    settings_module: str, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "AI_SERVICE_URL"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": settings_module},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_settings_need_no_configuration() -> None:
    result = run_manage("jira_ai.settings.base", {"REDIS_URL": ""}, "check")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_secrets_fails_with_a_clear_message() -> None:
    result = run_manage("jira_ai.settings.production", {}, "check")

    assert result.returncode != 0
    assert "Production settings refuse to start without: DJANGO_SECRET_KEY, ALLOWED_HOSTS" in (
        result.stderr
    )


def test_production_requires_the_shared_secret_when_ai_service_is_used() -> None:
    result = run_manage(
        "jira_ai.settings.production",
        {**PROD_ENV, "AI_SERVICE_URL": "http://ai:8001", "AI_SHARED_SECRET": ""},
        "check",
    )

    assert result.returncode != 0
    assert "AI_SHARED_SECRET (required when AI_SERVICE_URL is set)" in result.stderr


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = run_manage("jira_ai.settings.production", PROD_ENV, "check", "--deploy")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_production_refuses_disabled_service_auth() -> None:
    result = run_manage(
        "jira_ai.settings.production", {**PROD_ENV, "AI_AUTH_ENABLED": "false"}, "check"
    )

    assert result.returncode != 0
    assert "AI_AUTH_ENABLED=false is for development only." in result.stderr


def test_an_empty_value_is_unset_in_both_services() -> None:
    """docker-compose writes an unset ``${VAR}`` as ``VAR=``: the default applies, in the API's
    settings and in ai-service's alike (one environment reader, ``core.env``)."""
    probe = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.DEBUG, settings.AI_MAX_STREAMS, settings.LLM_TIMEOUT_SECONDS, "
        "settings.ALLOWED_HOSTS)"
    )
    empty = {
        "DJANGO_DEBUG": "",
        "AI_MAX_STREAMS": " ",
        "LLM_TIMEOUT_SECONDS": "",
        "ALLOWED_HOSTS": "",
    }
    outputs = []
    for module in ("jira_ai.settings.base", "ai_service.settings"):
        clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k not in empty}
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**clean, **empty, "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": module},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())

    assert outputs == ["True 500 600.0 ['127.0.0.1', 'localhost', '[::1]']"] * 2


def test_a_value_that_does_not_parse_stops_the_start() -> None:
    result = run_manage(
        "jira_ai.settings.base", {"REDIS_URL": "", "DJANGO_DEBUG": "maybe"}, "check"
    )

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false, not 'maybe'" in result.stderr
