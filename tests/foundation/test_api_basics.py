"""The public API's error format, health, metrics and docs (in-process ASGI client)."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

pytestmark = pytest.mark.django_db


async def test_healthz_answers_without_dependencies() -> None:
    response = await AsyncClient().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_readyz_checks_redis() -> None:
    response = await AsyncClient().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"redis": "ok", "ai_service": "skipped: local engine"},
    }


async def test_unknown_path_is_a_json_404() -> None:
    response = await AsyncClient().get("/no/such/path")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


async def test_root_redirects_to_the_workspace() -> None:
    response = await AsyncClient().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/ui"


async def test_openapi_and_docs_are_served() -> None:
    client = AsyncClient()
    schema = await client.get("/openapi.json")
    docs = await client.get("/docs")

    assert schema.status_code == 200
    assert "/healthz" in schema.json()["paths"]
    assert docs.status_code == 200
    assert "swagger" in docs.content.decode().lower()


async def test_metrics_count_requests() -> None:
    client = AsyncClient()
    await client.get("/healthz")
    response = await client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "django_http_responses_total_by_status_total" in text


async def test_every_response_carries_a_request_id() -> None:
    response = await AsyncClient().get("/healthz", headers={"X-Request-ID": "abc-123"})

    assert response["X-Request-ID"] == "abc-123"


async def test_malformed_request_id_is_replaced() -> None:
    response = await AsyncClient().get("/healthz", headers={"X-Request-ID": "bad id\n<script>"})

    assert response["X-Request-ID"] != "bad id\n<script>"
    assert len(response["X-Request-ID"]) == 32
