"""The public API and ai-service under real Daphne on free ports, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.servers import ServerProcess, free_port, start_daphne


def test_api_healthz_over_real_http(api_server: ServerProcess) -> None:
    response = httpx.get(api_server.url + "/healthz", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_readyz_with_redis_up(api_server: ServerProcess) -> None:
    response = httpx.get(api_server.url + "/readyz", timeout=5)

    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"


@pytest.fixture(scope="module")
def api_with_dead_redis(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    closed_port = free_port()  # nothing listens there
    server = start_daphne(
        "jira_ai.asgi:application",
        {**api_env, "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"},
    )
    yield server
    server.stop()


def test_readyz_is_503_fast_when_redis_is_down(api_with_dead_redis: ServerProcess) -> None:
    response = httpx.get(api_with_dead_redis.url + "/readyz", timeout=5)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    # A refused connection is reported as such, not by waiting out the check's timeout.
    assert body["checks"]["redis"] == "error: ConnectionError"


def test_static_files_are_served_by_the_asgi_branch(api_server: ServerProcess) -> None:
    response = httpx.get(api_server.url + "/static/css/app.css", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    cached = httpx.get(
        api_server.url + "/static/css/app.css",
        headers={"If-None-Match": response.headers["etag"]},
        timeout=5,
    )
    assert cached.status_code == 304


def test_static_path_traversal_is_refused(api_server: ServerProcess) -> None:
    response = httpx.get(api_server.url + "/static/../manage.py", timeout=5)

    assert response.status_code == 404


def test_html_responses_carry_the_content_security_policy(api_server: ServerProcess) -> None:
    response = httpx.get(api_server.url + "/docs", timeout=5)

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]


def test_ai_service_health_docs_and_openapi(ai_service_server: ServerProcess) -> None:
    health = httpx.get(ai_service_server.url + "/healthz", timeout=5)
    docs = httpx.get(ai_service_server.url + "/docs", timeout=5)
    schema = httpx.get(ai_service_server.url + "/openapi.json", timeout=5)

    assert health.json() == {"status": "ok", "checks": {}}
    assert docs.status_code == 200
    assert schema.json()["info"]["title"] == "jira-ai ai-service"


def test_ai_service_metrics(ai_service_server: ServerProcess) -> None:
    httpx.get(ai_service_server.url + "/healthz", timeout=5)
    response = httpx.get(ai_service_server.url + "/metrics", timeout=5)

    assert response.status_code == 200
    assert "django_http_requests_total_by_method_total" in response.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/ai/analyze-issue", "POST"),
        ("DELETE", "/me/site", "PUT"),
        ("POST", "/me", "GET"),
        ("POST", "/jira/projects", "GET"),
        ("POST", "/healthz", "GET"),
        ("GET", "/logout", "POST"),
    ],
)
def test_a_wrong_method_is_a_json_405(
    api_server: ServerProcess, method: str, path: str, allow: str
) -> None:
    response = httpx.request(method, api_server.url + path, timeout=5)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json() == {"detail": "Method not allowed.", "code": "method_not_allowed"}


def test_ai_service_docs_carry_security_headers(ai_service_server: ServerProcess) -> None:
    docs = httpx.get(ai_service_server.url + "/docs", timeout=5)
    health = httpx.get(ai_service_server.url + "/healthz", timeout=5)

    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in health.headers


@pytest.fixture(scope="module")
def socket_probe() -> Iterator[ServerProcess]:
    """Plain Daphne serving a bare ASGI app (tests/foundation/socket_probe.py)."""
    server = start_daphne("tests.foundation.socket_probe:application", {}, health_path="/")
    yield server
    server.stop()


def test_daphne_accepts_connections_with_tcp_nodelay(socket_probe: ServerProcess) -> None:
    # SSE events are small writes: with Nagle's algorithm on, each could wait for the previous
    # one's ACK. Twisted's HTTPChannel.connectionMade turns it off (TCP_NODELAY), so neither
    # service patches Daphne for it; this holds the fact across upgrades (README, decisions).
    response = httpx.get(socket_probe.url + "/", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"tcp_nodelay": 1}
