"""The two-by-two shape, once per session (see tests/scale/topology.py), on a PostgreSQL
database of its own (tests/scale/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale import postgres, topology
from tests.support.peers import missing_peer
from tests.support.servers import ServerProcess

# A quota the tests can exhaust (the quota test's user makes no other AI call); small map
# chunks so a summary stream lasts long enough to be cut. The LLM limit is Ollama's default
# (auto: 1 in flight), shared by both ai-services through Redis.
QUOTA = 8
SCALE_ENV = {
    "AI_USER_REQUESTS_PER_MINUTE": str(QUOTA),
    "LLM_CONTEXT_TOKENS": "2000",
    "AI_STREAM_HEARTBEAT_SECONDS": "0.3",
}


@pytest.fixture(scope="session")
def scale_database_url() -> Iterator[str]:
    """``DATABASE_URL`` of both API processes: a throwaway PostgreSQL database, migrated once."""
    admin = postgres.admin_url()
    problem = postgres.reachable(admin)
    if problem is not None:
        missing_peer(
            "PostgreSQL",
            f"{problem}: tests/scale needs it (SCALE_POSTGRES_URL names another server)",
        )
    database_url = postgres.database_create(admin)
    yield database_url
    postgres.database_drop(admin, postgres.database_name(database_url))


@pytest.fixture(scope="session")
def scaled(
    api_env: dict[str, str], sandbox_server: ServerProcess, scale_database_url: str
) -> Iterator[topology.Topology]:
    topology.haproxy_binary()  # fails first, with how to install it, when it is missing
    shape = topology.start({**api_env, **SCALE_ENV, "DATABASE_URL": scale_database_url})
    yield shape
    shape.stop()
