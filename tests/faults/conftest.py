"""The fault suite's own peers: a throwaway ``redis-server`` (AOF on, as in compose) that a test
may restart or stop, and the API processes pointed at it.

The throwaway Redis runs on a port of its own and in a directory of its own, so stopping it never
touches the Redis the other suites share. It is started once per session; a test that stops it
leaves it to the ``fault_redis`` fixture to start it again (on the same port and directory, so
the data comes back from the AOF).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.peers import missing_peer
from tests.support.servers import ServerFactory, ServerProcess, free_port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class ThrowawayRedis:
    """``redis-server --appendonly yes`` on a free loopback port, in a temporary directory."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="jira-ai-faults-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                # As in docker-compose.yml: AOF on, fsync every second, no RDB snapshots.
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if _ping(self.port):
                return
            time.sleep(0.02)  # polling interval of a readiness probe, not a timing assumption
        raise RuntimeError("redis-server did not answer PING in time")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (what ``docker compose restart redis`` sends): Redis writes its AOF and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        missing_peer("redis-server", "run `apt-get install redis-server`")
    server = ThrowawayRedis(binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fault_redis(throwaway_redis: ThrowawayRedis) -> ThrowawayRedis:
    """The throwaway Redis, running (started again if an earlier test stopped it)."""
    throwaway_redis.start()
    return throwaway_redis


@pytest.fixture(scope="session")
def redis_api(server_factory: ServerFactory, throwaway_redis: ThrowawayRedis) -> ServerProcess:
    """The API with the local engine on the throwaway Redis."""
    return server_factory.api(REDIS_URL=throwaway_redis.url)
