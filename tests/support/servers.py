"""Real servers for the test session: started once, on a free port, killed at the end.

Each server prints a line announcing its URL (the sandbox: ``Sandbox ready on URL``) or is polled
on its ``/healthz`` (Daphne). No fixed sleeps: we wait on output or on a readiness probe with a
deadline. :class:`ServerFactory` starts each distinct API or ai-service configuration once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    name: str
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    terminated: bool = False

    def terminate(self) -> None:
        """SIGTERM, once: the process starts shutting down (``stop`` waits for it)."""
        if self.process.poll() is None and not self.terminated:
            self.terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``grace`` seconds."""
        if self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace)


def _drain(proc: subprocess.Popen[str], sink: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        sink.append(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Speed only: a model loads in 20 ms and a prompt is evaluated at a million tokens a second, so the
# suite stays fast. Context size, parallelism, queueing and cuts stay those of a stock server.
FAST_LLM_ARGS = ("--ollama-load-ms", "20", "--ollama-prompt-tokens-per-second", "1000000")


def start_sandbox(extra_args: Sequence[str] = (), timeout: float = 30.0) -> ServerProcess:
    """``python -m sandbox --port 0`` with :data:`FAST_LLM_ARGS` (``extra_args`` come after, so they
    win); waits for its ready line and returns its base URL."""
    cmd = [
        sys.executable,
        "-m",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *FAST_LLM_ARGS,
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    output: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        match = re.search(r"Sandbox ready on (http://\S+)", line)
        if match:
            threading.Thread(target=_drain, args=(proc, output), daemon=True).start()
            return ServerProcess("sandbox", match.group(1), proc, output)
    proc.kill()
    raise RuntimeError("sandbox did not start:\n" + "".join(output))


def start_daphne(
    application: str,
    env: dict[str, str],
    timeout: float = 30.0,
    health_path: str = "/healthz",
    port: int | None = None,
    cwd: Path = ROOT,
    inherit_env: bool = True,
    extra_args: Sequence[str] = (),
) -> ServerProcess:
    """Daphne on a (free) loopback port, raised backlog, polled on ``health_path`` until ready;
    run in ``cwd`` (Daphne puts it on ``sys.path``), with ``env`` over this process's environment
    unless ``inherit_env`` is false."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "daphne",
        "-v",
        "0",
        "-e",
        f"tcp:port={port}:interface=127.0.0.1:backlog=2048",
        *extra_args,
        application,
    ]
    full_env = {**os.environ, **env} if inherit_env else dict(env)
    return spawn_ready(
        application,
        cmd,
        url=f"http://127.0.0.1:{port}",
        health_path=health_path,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def spawn_ready(
    name: str,
    cmd: Sequence[str],
    *,
    url: str,
    health_path: str,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
) -> ServerProcess:
    """``cmd`` started (its output kept), polled on ``url + health_path`` until a 200; fails with
    its output when it exits or is not ready within ``timeout``."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    threading.Thread(target=_drain, args=(proc, output), daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n" + "".join(output[-40:]))
        try:
            if httpx.get(url + health_path, timeout=1.0).status_code == 200:
                return ServerProcess(name, url, proc, output)
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling interval of a readiness probe, not a timing assumption
    proc.kill()
    raise RuntimeError(f"{name} not ready:\n" + "".join(output[-40:]))


def oauth_client_register(auth_url: str, client_id: str, redirect_uri: str, name: str) -> str:
    """An OAuth client in the sandbox (``auth_url``) with this redirect URI; its secret."""
    secret = f"{client_id}-secret"
    httpx.post(
        auth_url + "/_sandbox/clients",
        json={
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": [redirect_uri],
            "name": name,
        },
        timeout=5,
    ).raise_for_status()
    return secret


def start_api(
    env: dict[str, str],
    *,
    client_id: str = "jira-ai-tests",
    extra_env: dict[str, str] | None = None,
) -> ServerProcess:
    """The public API under Daphne with an OAuth client of its own registered in the sandbox
    (``env["ATLASSIAN_AUTH_URL"]``): its redirect URI carries the port, so it is chosen first.
    ``extra_env`` overrides settings of this process (e.g. ``AI_SERVICE_URL``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secret = oauth_client_register(
        env["ATLASSIAN_AUTH_URL"], client_id, f"{url}/oauth/callback", f"jira-ai ({client_id})"
    )
    full_env = {
        **env,
        "ATLASSIAN_CLIENT_ID": client_id,
        "ATLASSIAN_CLIENT_SECRET": secret,
        "ATLASSIAN_REDIRECT_URI": f"{url}/oauth/callback",
        **(extra_env or {}),
    }
    return start_daphne("jira_ai.asgi:application", full_env, port=port)


class ServerFactory:
    """The session's Daphne processes: ``api(**env)`` and ``ai_service(**env)`` start a process
    with those settings over the base environment the first time a configuration is asked for,
    and return that same process afterwards; ``stop_all()`` ends them (the session's teardown).

    The API with no overrides registers the OAuth client ``jira-ai-tests`` (management commands
    run with that configuration reuse it); any other gets a client id of its own."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self._started: dict[tuple[str, frozenset[tuple[str, str]]], ServerProcess] = {}

    def api(self, **overrides: str) -> ServerProcess:
        key = ("api", frozenset(overrides.items()))
        if key not in self._started:
            client_id = f"jira-ai-tests-{len(self._started)}" if overrides else "jira-ai-tests"
            self._started[key] = start_api(self.env, client_id=client_id, extra_env=overrides)
        return self._started[key]

    def ai_service(self, **overrides: str) -> ServerProcess:
        key = ("ai_service", frozenset(overrides.items()))
        if key not in self._started:
            env = {**self.env, "DJANGO_SETTINGS_MODULE": "ai_service.settings", **overrides}
            self._started[key] = start_daphne("ai_service.asgi:application", env)
        return self._started[key]

    def stop_all(self) -> None:
        """All of them at once: each is told to stop before any is waited for."""
        servers = list(self._started.values())
        self._started.clear()
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()
