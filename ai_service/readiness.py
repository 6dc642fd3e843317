"""Readiness of the LLM endpoint: its model list answers (OpenAI /models, Ollama /api/tags)."""

from __future__ import annotations

import httpx
from django.conf import settings


async def check_llm() -> str:
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    if settings.LLM_PROVIDER == "openai":
        base = settings.OPENAI_BASE_URL or "https://api.openai.com/v1"
        url, headers = base + "/models", {"Authorization": f"Bearer {settings.OPENAI_API_KEY}"}
    else:
        url, headers = settings.OLLAMA_BASE_URL + "/api/tags", {}
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        response = await client.get(url, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    return "ok"
