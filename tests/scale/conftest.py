"""The two-by-two shape, once per session (see tests/scale/topology.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale import topology
from tests.support.servers import ServerProcess

# A quota the tests can exhaust (the quota test's user makes no other AI call); small map
# chunks so a summary stream lasts long enough to be cut.
QUOTA = 8
SCALE_ENV = {
    "AI_USER_REQUESTS_PER_MINUTE": str(QUOTA),
    "LLM_CONTEXT_TOKENS": "2000",
    "AI_STREAM_HEARTBEAT_SECONDS": "0.3",
}


@pytest.fixture(scope="session")
def scaled(api_env: dict[str, str], sandbox_server: ServerProcess) -> Iterator[topology.Topology]:
    if topology.haproxy_binary() is None:
        # Like Chromium and Redis: a missing peer is an error, never a skip.
        pytest.fail("haproxy is missing: run `make system-deps` (apt-get install haproxy)")
    shape = topology.start({**api_env, **SCALE_ENV})
    yield shape
    shape.stop()
