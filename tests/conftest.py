"""Session-wide real peers: the sandbox (Atlassian + LLM stand-ins) and helpers to reach it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess, start_api, start_daphne, start_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[ServerProcess]:
    """One sandbox process for the whole test session."""
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def sandbox_url(sandbox_server: ServerProcess) -> str:
    """The sandbox's base URL, reset (faults, counters, tokens) before each test that uses it."""
    httpx.post(sandbox_server.url + "/_sandbox/reset", timeout=5).raise_for_status()
    return sandbox_server.url


def _database_url_for_subprocesses() -> dict[str, str]:
    """Daphne subprocesses must use the test database pytest-django created."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return {}
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return {"DATABASE_URL": f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"}


@pytest.fixture(scope="session")
def api_database(
    request: pytest.FixtureRequest,
    django_db_setup: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
) -> Iterator[dict[str, str]]:
    """A migrated test database for the Daphne processes (they sign users in with it), and the
    environment that points them at it.

    pytest-django creates only the databases some collected test asks for (a ``django_db`` mark,
    the ``db`` fixture); a run whose tests all talk to the processes over HTTP asks for none, so
    the default one is created here in that case, and destroyed with the session."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, _ = _get_databases_for_setup(request.session.items)

    def setup() -> tuple[Any, dict[str, str]]:
        with django_db_blocker.unblock():
            created = None
            if DEFAULT_DB_ALIAS not in aliases:
                created = setup_databases(
                    verbosity=0,
                    interactive=False,
                    aliases={DEFAULT_DB_ALIAS: False},
                    keepdb=django_db_keepdb,
                )
            environment = _database_url_for_subprocesses()
            connections.close_all()  # this thread ends here; its connections must not linger
            return created, environment

    # A test may first ask for a server from inside its coroutine (getfixturevalue): Django's
    # database calls refuse a thread with a running event loop, so they run in a thread apart.
    with ThreadPoolExecutor(max_workers=1) as pool:
        created, environment = pool.submit(setup).result()
    yield environment
    if created is not None and not django_db_keepdb:

        def teardown() -> None:
            with django_db_blocker.unblock():
                teardown_databases(created, verbosity=0)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(teardown).result()


@pytest.fixture(scope="session")
def api_env(sandbox_server: ServerProcess, api_database: dict[str, str]) -> dict[str, str]:
    """Environment of the API and ai-service processes: the sandbox as Atlassian and LLM."""
    from django.conf import settings

    return {
        "DJANGO_SETTINGS_MODULE": "jira_ai.settings.test",
        "DJANGO_DEBUG": "true",
        "REDIS_URL": settings.REDIS_URL,
        "ATLASSIAN_AUTH_URL": sandbox_server.url,
        "ATLASSIAN_API_URL": sandbox_server.url,
        "OLLAMA_BASE_URL": sandbox_server.url,
        "OPENAI_BASE_URL": sandbox_server.url + "/v1",
        "LLM_PROVIDER": "ollama",
        "AI_SHARED_SECRET": "test-shared-secret-1",
        "TOKEN_ENCRYPTION_KEY": "",
        "NO_PROXY": "127.0.0.1,localhost",
        **api_database,
    }


@pytest.fixture(scope="session")
def api_server(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    """The public API under real Daphne, once per session, with an OAuth client registered for it
    in the sandbox (its redirect URI carries the port, known before start)."""
    server = start_api(api_env, client_id="jira-ai-tests")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ai_service_server(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    """ai-service under real Daphne, once per session."""
    env = {**api_env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
    server = start_daphne("ai_service.asgi:application", env)
    yield server
    server.stop()


@pytest.fixture
async def sign_in_as(api_server: ServerProcess) -> Any:
    """``client = await sign_in_as("712020:alice-0001", cloud_id=None)``: a real sign-in on the
    session's API server (tests/signin.py); every client is closed at teardown."""
    from tests.signin import sign_in

    clients: list[httpx.AsyncClient] = []

    async def _sign_in(account_id: str, cloud_id: str | None = None) -> httpx.AsyncClient:
        client = await sign_in(api_server.url, account_id, cloud_id)
        clients.append(client)
        return client

    yield _sign_in
    for client in clients:
        await client.aclose()
