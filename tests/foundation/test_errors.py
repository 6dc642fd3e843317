"""Every error of the API leaves as {"detail", "code"}: validation, auth, ApiError, crashes."""

from __future__ import annotations

import logging

import pytest
from ninja import NinjaAPI, Router, Schema
from ninja.testing import TestAsyncClient

from core.errors import ApiError, ErrorCode
from jira_ai.api import install_error_handlers


class Body(Schema):
    count: int


router = Router()


@router.post("/validate")
async def validate(request: object, body: Body) -> dict[str, int]:
    return {"count": body.count}


@router.get("/boom")
async def boom(request: object) -> None:
    raise RuntimeError("secret-value-that-must-not-leak")


@router.get("/limited")
async def limited(request: object) -> None:
    raise ApiError("Too many requests.", code=ErrorCode.RATE_LIMITED, status=429, retry_after=7)


test_api = NinjaAPI(urls_namespace="errors-test")
install_error_handlers(test_api)
test_api.add_router("", router)
client = TestAsyncClient(test_api)


async def test_validation_error_is_422_invalid_input() -> None:
    response = await client.post("/validate", json={"count": "many"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert "count" in response.json()["detail"]


async def test_unexpected_exception_is_a_generic_500_without_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error.", "code": "internal_error"}
    assert "secret-value" not in response.content.decode()
    # The log keeps what the answer hides: where it happened and the exception itself.
    [record] = [r for r in caplog.records if r.name == "core.errors"]
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "unhandled error on GET /boom")
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == "secret-value-that-must-not-leak"


async def test_api_error_carries_status_code_and_retry_after() -> None:
    response = await client.get("/limited")

    assert response.status_code == 429
    assert response.json() == {"detail": "Too many requests.", "code": "rate_limited"}
    assert response["Retry-After"] == "7"
