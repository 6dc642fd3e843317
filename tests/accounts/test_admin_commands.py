"""The admin Sessions page and the ``sessions`` / ``check_services`` commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from accounts.sessions import SessionStore
from tests.support.servers import ServerProcess, free_port


def _signed_in_session(account_id: str, name: str) -> str:
    session = SessionStore()
    session.update(
        {
            "account_id": account_id,
            "display_name": name,
            "sites": {"c1": {"name": "acme", "url": "https://acme.atlassian.net", "scopes": []}},
            "current_cloud_id": "c1",
            "_auth_user_id": "1",
        }
    )
    session.save()
    assert session.session_key is not None
    return session.session_key


@pytest.fixture
def r() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.mark.django_db
def test_admin_sessions_page_lists_and_revokes(r: redis.Redis) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    one = _signed_in_session("712020:admin-one", "Admin One")
    two = _signed_in_session("712020:admin-two", "Admin Two")
    three = _signed_in_session("712020:admin-two", "Admin Two")
    client = Client()
    assert (
        client.post(
            "/admin/login/", {"username": "root", "password": "pw-for-tests-only"}
        ).status_code
        == 302
    )

    page = client.get("/admin/accounts/livesession/")
    index = client.get("/admin/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "712020:admin-one" in text
    assert "Admin Two" in text
    assert "acme" in text
    assert "/admin/accounts/livesession/" in index.content.decode()
    assert client.post("/admin/accounts/livesession/", {"sid": one}).status_code == 302
    assert r.exists(f"session:{one}") == 0
    assert (
        client.post("/admin/accounts/livesession/", {"account_id": "712020:admin-two"}).status_code
        == 302
    )
    assert r.exists(f"session:{two}", f"session:{three}") == 0


@pytest.mark.django_db
def test_admin_sessions_page_is_for_superusers_only() -> None:
    User.objects.create_user("staff", "s@example.com", "pw-for-tests-only", is_staff=True)
    client = Client()
    client.post("/admin/login/", {"username": "staff", "password": "pw-for-tests-only"})

    assert client.get("/admin/accounts/livesession/").status_code == 403


def test_admin_has_no_social_auth_pages() -> None:
    from django.contrib import admin
    from social_django.models import UserSocialAuth

    assert not admin.site.is_registered(UserSocialAuth)


def test_sessions_command_lists_and_revokes(r: redis.Redis) -> None:
    one = _signed_in_session("712020:cmd-one", "Cmd One")
    two = _signed_in_session("712020:cmd-two", "Cmd Two")
    three = _signed_in_session("712020:cmd-two", "Cmd Two")
    out = StringIO()

    call_command("sessions", "list", "--json", stdout=out)
    # Other tests' sessions may share this Redis database: look at ours.
    listed = [
        s
        for s in json.loads(out.getvalue())["sessions"]
        if s["account_id"].startswith("712020:cmd-")
    ]
    assert sorted(s["sid"] for s in listed) == sorted([one, two, three])
    assert {s["account_id"] for s in listed} == {"712020:cmd-one", "712020:cmd-two"}
    text = StringIO()
    call_command("sessions", "list", stdout=text)
    assert one in text.getvalue()

    call_command("sessions", "revoke", one, stdout=StringIO())
    assert r.exists(f"session:{one}") == 0
    with pytest.raises(CommandError):
        call_command("sessions", "revoke", one, stdout=StringIO())
    done = StringIO()
    call_command("sessions", "revoke", "--account", "712020:cmd-two", stdout=done)
    assert done.getvalue().strip() == "Revoked 2 session(s)."
    four = _signed_in_session("712020:cmd-four", "Cmd Four")
    call_command("sessions", "revoke", "--all", stdout=StringIO())
    assert r.exists(f"session:{four}") == 0


def test_check_services_passes_on_the_sandbox(sandbox_server: ServerProcess) -> None:
    out = StringIO()
    with override_settings(
        ATLASSIAN_AUTH_URL=sandbox_server.url,
        ATLASSIAN_API_URL=sandbox_server.url,
        OLLAMA_BASE_URL=sandbox_server.url,
        LLM_PROVIDER="ollama",
        AI_SERVICE_URL="",
    ):
        call_command("check_services", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "OK    redis",
        "OK    atlassian-auth",
        "OK    atlassian-api",
        "OK    ai-service",
        "OK    llm",
    ]


def test_check_services_fails_with_exit_code_1_when_a_service_is_down(
    sandbox_server: ServerProcess,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    out = StringIO()
    with (
        override_settings(
            ATLASSIAN_AUTH_URL=dead,
            ATLASSIAN_API_URL=sandbox_server.url,
            OLLAMA_BASE_URL=dead,
            LLM_PROVIDER="ollama",
            AI_SERVICE_URL="",
        ),
        pytest.raises(CommandError) as failure,
    ):
        call_command("check_services", stdout=out)

    assert failure.value.returncode == 1
    assert str(failure.value) == "2 service(s) unreachable."
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("FAIL  atlassian-auth: error: ConnectError")
    assert lines[2].startswith("OK    atlassian-api")
    assert lines[4].startswith("FAIL  llm: error: ConnectError")
