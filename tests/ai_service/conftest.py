"""Fixtures of the ai-service and engine suites: an engine configuration pointed at the sandbox's
LLM (helpers: ``tests.support.ai``, ``tests.support.sandbox``, ``tests.support.sse``)."""

from __future__ import annotations

import pytest

from ai_service.engine import EngineConfig


@pytest.fixture
def engine_config(sandbox_url: str) -> EngineConfig:
    return EngineConfig(
        provider="ollama",
        ollama_base_url=sandbox_url,
        ollama_model="llama3.1:8b",
        timeout_seconds=5.0,
        context_tokens=8000,
        max_streams=20,
    )


@pytest.fixture
def redis_url() -> str:
    """The tests' own Redis database (what the services get as REDIS_URL)."""
    from django.conf import settings

    return str(settings.REDIS_URL)
