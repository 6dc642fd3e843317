"""docker-compose.yml names only settings that exist, and its ports and URLs agree."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from jira_ai.settings.env import Env
from tests.foundation.dockerfile import chain, stages
from tests.support.servers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OUR_SERVICES = [name for name, spec in SERVICES.items() if "build" in spec]
# The environment variables ai_service.settings reads, seen as it reads them: imported alone in a
# fresh interpreter whose os.environ records every name asked for.
RECORD_READS = """
import json, os, sys

class Recording(dict):
    names = set()

    def get(self, key, default=None):
        self.names.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.names.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.names.add(key)
        return super().__contains__(key)

os.environ = Recording(os.environ)
import ai_service.settings
json.dump(sorted(os.environ.names), sys.stdout)
"""


def ai_service_env_names() -> set[str]:
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "ai_service.settings"}
    done = subprocess.run(
        [sys.executable, "-c", RECORD_READS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.fixture(scope="module")
def known_settings() -> set[str]:
    return set(Env.names()) | ai_service_env_names() | {"DJANGO_SETTINGS_MODULE"}


def command_port(service: str) -> int:
    command = " ".join(SERVICES[service]["command"])
    match = re.search(r"tcp:port=(\d+):interface=0\.0\.0\.0:backlog=2048", command)
    assert match, f"{service} must start Daphne with a raised backlog"
    return int(match.group(1))


def test_our_services_are_the_api_ai_service_and_migrations() -> None:
    assert sorted(OUR_SERVICES) == ["ai-service", "api", "migrate"]
    assert {"lb", "redis", "db", "ollama", "ollama-pull"} <= set(SERVICES)


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_every_environment_variable_is_a_setting(service: str, known_settings: set[str]) -> None:
    names = set(SERVICES[service]["environment"])

    assert names - known_settings == set()


@pytest.mark.parametrize("service", ["api", "ai-service"])
def test_healthcheck_probes_the_port_daphne_listens_on(service: str) -> None:
    probe = " ".join(SERVICES[service]["healthcheck"]["test"])

    assert f"http://127.0.0.1:{command_port(service)}/healthz" in probe


@pytest.mark.parametrize("service", ["api", "ai-service"])
def test_scalable_services_publish_no_host_port_and_trust_the_balancer(service: str) -> None:
    """`--scale api=N` needs no fixed host port on the replicas; only lb publishes one."""
    assert "ports" not in SERVICES[service]
    assert "--proxy-headers" in SERVICES[service]["command"]


def lb_config() -> str:
    volume = SERVICES["lb"]["volumes"][0]
    source, target = volume.split(":")[:2]
    assert target == "/usr/local/etc/haproxy/haproxy.cfg"
    return (ROOT / source).read_text()


def test_the_balancer_fronts_both_services_on_their_ports() -> None:
    config = lb_config()

    assert SERVICES["lb"]["ports"] == [f"{command_port('api')}:{command_port('api')}"]
    assert f"bind :{command_port('api')}" in config
    assert f"bind :{command_port('ai-service')}" in config
    assert f"api:{command_port('api')} check resolvers docker" in config
    assert f"ai-service:{command_port('ai-service')} check resolvers docker" in config
    assert config.count("option httpchk GET /healthz") == 2
    # SSE: long server/tunnel timeouts, no compression; buffers above Daphne's header limits.
    assert "timeout server 1h" in config
    assert "timeout tunnel 1h" in config
    assert "compression" not in config
    assert "tune.bufsize 131072" in config


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    command = SERVICES["redis"]["command"]

    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in SERVICES["redis"]["volumes"])


def test_urls_point_at_the_services_that_serve_them() -> None:
    api_env = SERVICES["api"]["environment"]
    ai_url = urlparse(api_env["AI_SERVICE_URL"])
    redis_url = urlparse(api_env["REDIS_URL"])
    db_url = urlparse(api_env["DATABASE_URL"])
    ollama_url = urlparse(SERVICES["ai-service"]["environment"]["OLLAMA_BASE_URL"])

    # ai-service is reached through the balancer (lb's second frontend).
    assert (ai_url.hostname, ai_url.port) == ("lb", command_port("ai-service"))
    assert (redis_url.hostname, redis_url.port) == ("redis", 6379)
    assert (db_url.hostname, db_url.port) == ("db", 5432)
    assert db_url.path == "/" + SERVICES["db"]["environment"]["POSTGRES_DB"]
    assert (ollama_url.hostname, ollama_url.port) == ("ollama", 11434)


def test_settings_modules_exist() -> None:
    for service in OUR_SERVICES:
        module = SERVICES[service]["environment"]["DJANGO_SETTINGS_MODULE"]
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module


@pytest.mark.parametrize(
    ("service", "target"), [("api", "api"), ("migrate", "api"), ("ai-service", "ai-service")]
)
def test_each_service_builds_its_own_dockerfile_target(service: str, target: str) -> None:
    build = SERVICES[service]["build"]

    assert build == {"context": ".", "target": target}
    assert target in stages()


def test_the_api_image_collects_static_files_and_compiles_messages() -> None:
    runs = " ".join(
        args for stage in chain("api") for op, args in stage.instructions if op == "RUN"
    )

    assert "collectstatic --noinput" in runs
    assert "compilemessages" in runs
