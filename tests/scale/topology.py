"""Two API and two ai-service Daphne processes behind one HAProxy (two frontends), rendered from
deploy/haproxy.cfg: the shape of tests/scale and of ``make scale-demo``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

from tests.support.peers import missing_peer
from tests.support.servers import (
    ROOT,
    ServerProcess,
    _drain,
    free_port,
    oauth_client_register,
    start_daphne,
)

PROXY_HEADERS = ("--proxy-headers",)


def haproxy_binary() -> str:
    """Debian's HAProxy (``/usr/sbin`` is not on every PATH); missing, the test fails."""
    binary = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if binary is None:
        missing_peer("haproxy", "run `make system-deps` (apt-get install haproxy)")
    return binary


def render(api_port: int, ai_port: int, api: list[str], ai: list[str]) -> str:
    def servers(prefix: str, urls: list[str]) -> str:
        return "\n".join(
            f"    server {prefix}{n} {url.removeprefix('http://')} check inter 1s fall 1 rise 1"
            for n, url in enumerate(urls, 1)
        )

    return Template((ROOT / "deploy" / "haproxy.cfg").read_text()).substitute(
        API_BIND=f"127.0.0.1:{api_port}",
        AI_BIND=f"127.0.0.1:{ai_port}",
        API_SERVERS=servers("api", api),
        AI_SERVERS=servers("ai", ai),
    )


@dataclass
class Topology:
    api_url: str
    ai_url: str
    apis: list[ServerProcess]
    ais: list[ServerProcess]
    haproxy: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    workdir: str = ""
    ai_env: dict[str, str] = field(default_factory=dict)

    def ai_restart(self, index: int) -> ServerProcess:
        """A new ai-service process on the port of ``ais[index]`` (which a test killed), once
        the balancer sends it requests again: the next tests find both pairs whole."""
        port = int(self.ais[index].url.rsplit(":", 1)[1])
        self.ais[index] = start_daphne(
            "ai_service.asgi:application", self.ai_env, port=port, extra_args=PROXY_HEADERS
        )
        wait_served(self.ai_url, f"ai{index + 1}")
        return self.ais[index]

    def stop(self) -> None:
        for server in [*self.apis, *self.ais]:
            server.terminate()
        self.haproxy.terminate()
        for server in [*self.apis, *self.ais]:
            server.stop()
        self.haproxy.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # readiness polling interval, not a timing assumption
    raise RuntimeError(f"balancer at {url} not ready")


def wait_served(url: str, server: str, timeout: float = 30.0) -> None:
    """Until the balancer at ``url`` hands a request to ``server`` (its health check passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url + "/healthz", timeout=1.0)
            if answer.headers.get("x-served-by") == server:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # readiness polling interval, not a timing assumption
    raise RuntimeError(f"balancer at {url} did not send a request to {server} in {timeout}s")


def _start_pair(application: str, env: dict[str, str]) -> list[ServerProcess]:
    """Two processes of ``application``, started side by side (each waits on its own probe):
    the session's setup pays one Django start-up, not two."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(start_daphne, application, env, extra_args=PROXY_HEADERS) for _ in range(2)
        ]
        started = [f.result() for f in futures if f.exception() is None]
        failure = next((f.exception() for f in futures if f.exception() is not None), None)
    if failure is not None:
        for server in started:
            server.stop()
        raise failure
    return started


def start(env: dict[str, str], client_id: str = "jira-ai-scale") -> Topology:
    """Both pairs and the balancer. The API processes share one OAuth client whose redirect URI
    is the balancer's (the public URL), as they would in production."""
    binary = haproxy_binary()
    api_port, ai_port = free_port(), free_port()
    api_url, ai_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ai_port}"
    ai_env = {**env, "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
    ais = _start_pair("ai_service.asgi:application", ai_env)
    secret = oauth_client_register(
        env["ATLASSIAN_AUTH_URL"], client_id, f"{api_url}/oauth/callback", "jira-ai (scaled out)"
    )
    api_env = {
        **env,
        "ATLASSIAN_CLIENT_ID": client_id,
        "ATLASSIAN_CLIENT_SECRET": secret,
        "ATLASSIAN_REDIRECT_URI": f"{api_url}/oauth/callback",
        "AI_SERVICE_URL": ai_url,
        "AI_SERVICE_CANARY_PERCENT": "100",
    }
    apis = _start_pair("jira_ai.asgi:application", api_env)
    workdir = tempfile.mkdtemp(prefix="jira-ai-haproxy-")
    config = Path(workdir) / "haproxy.cfg"
    config.write_text(render(api_port, ai_port, [s.url for s in apis], [s.url for s in ais]))
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
    )
    output: list[str] = []
    threading.Thread(target=_drain, args=(proc, output), daemon=True).start()
    topology = Topology(api_url, ai_url, apis, ais, proc, output, workdir, ai_env)
    try:
        wait_healthy(api_url)
        wait_healthy(ai_url)
    except BaseException as exc:
        topology.stop()
        raise RuntimeError("haproxy:\n" + "".join(output)) from exc
    return topology
