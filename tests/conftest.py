"""Session-wide real peers: the sandbox (Atlassian + LLM stand-ins), the API and ai-service
under Daphne (one process per distinct configuration, from ``server_factory``), signed-in
clients. Helpers the suites import live in ``tests.support``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support import sandbox
from tests.support.ids import AI_SHARED_SECRET
from tests.support.servers import ServerFactory, ServerProcess, start_sandbox
from tests.support.signin import SignIn, sign_in


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[ServerProcess]:
    """One sandbox process for the whole test session."""
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def sandbox_url(sandbox_server: ServerProcess) -> str:
    """The sandbox's base URL, reset (faults, counters, tokens) before each test that uses it."""
    sandbox.reset(sandbox_server.url)
    return sandbox_server.url


@pytest.fixture
def fast_llm(sandbox_url: str) -> str:
    """The sandbox's LLM at a pace that costs the tests no time (what a test waits on, it sets)."""
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


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
            connections.close_all()  # none stays open while the processes use the database
            return created, environment

    # Django's database calls refuse a thread whose event loop runs (sync Playwright runs one in
    # this thread, and so does a coroutine that asks for a fixture): they run in a thread apart,
    # the same one at teardown (a connection serves only the thread that made it).
    with ThreadPoolExecutor(max_workers=1) as database_thread:
        created, environment = database_thread.submit(setup).result()
        yield environment
        if created is not None and not django_db_keepdb:

            def teardown() -> None:
                with django_db_blocker.unblock():
                    teardown_databases(created, verbosity=0)

            database_thread.submit(teardown).result()


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
        "AI_SHARED_SECRET": AI_SHARED_SECRET,
        "TOKEN_ENCRYPTION_KEY": "",
        "NO_PROXY": "127.0.0.1,localhost",
        **api_database,
    }


@pytest.fixture(scope="session")
def server_factory(api_env: dict[str, str]) -> Iterator[ServerFactory]:
    """Starts an API or ai-service process once per distinct configuration (settings over
    ``api_env``), each with its own OAuth client in the sandbox; stops them all at the end."""
    factory = ServerFactory(api_env)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def api_server(server_factory: ServerFactory) -> ServerProcess:
    """The public API with the local engine (OAuth client ``jira-ai-tests``)."""
    return server_factory.api()


@pytest.fixture(scope="session")
def ai_service_server(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.ai_service()


@pytest.fixture
async def signed_in(sandbox_url: str) -> AsyncIterator[SignIn]:
    """``client = await signed_in(server, ALICE, cloud_id=None)``: a real sign-in on ``server``
    (after the sandbox reset, which forgets earlier tokens); clients closed at teardown."""
    clients: list[httpx.AsyncClient] = []

    async def _sign_in(
        server: ServerProcess, account_id: str, cloud_id: str | None = None
    ) -> httpx.AsyncClient:
        client = await sign_in(server.url, account_id, cloud_id)
        clients.append(client)
        return client

    yield _sign_in
    for client in clients:
        await client.aclose()


@pytest.fixture
def sign_in_as(api_server: ServerProcess, signed_in: SignIn) -> SignIn:
    """``client = await sign_in_as(ALICE, cloud_id=None)``: ``signed_in`` on ``api_server``."""

    async def _sign_in(account_id: str, cloud_id: str | None = None) -> httpx.AsyncClient:
        return await signed_in(api_server, account_id, cloud_id)

    return _sign_in
