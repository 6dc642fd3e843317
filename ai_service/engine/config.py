"""The engine's configuration: built from settings by its callers, never read from Django."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Provider = Literal["ollama", "openai"]


@dataclass(frozen=True)
class EngineConfig:
    provider: Provider = "ollama"
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.1:8b"
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""
    timeout_seconds: float = 120.0
    connect_timeout_seconds: float = 5.0
    context_tokens: int = 8000
    max_streams: int = 500
    # Map step of map-reduce: chunks summarized at once per request.
    map_concurrency: int = 4
    default_language: str = "fr"

    @property
    def model(self) -> str:
        return self.ollama_model if self.provider == "ollama" else self.openai_model

    @property
    def base_url(self) -> str:
        if self.provider == "ollama":
            return self.ollama_base_url.rstrip("/") + "/v1"
        return self.openai_base_url.rstrip("/") or "https://api.openai.com/v1"

    def models_endpoint(self) -> tuple[str, dict[str, str]]:
        """The URL and headers of the provider's model list (what a readiness probe reads)."""
        if self.provider == "ollama":
            return self.ollama_base_url.rstrip("/") + "/api/tags", {}
        return self.base_url + "/models", {"Authorization": f"Bearer {self.openai_api_key}"}

    @property
    def api_key(self) -> str:
        # Ollama's OpenAI-compatible endpoint requires a key and ignores it.
        return "ollama" if self.provider == "ollama" else self.openai_api_key

    @classmethod
    def from_settings(cls, settings: Any) -> EngineConfig:
        """From any object with the README's setting names (Django's ``settings`` of either
        service); absent optional names keep their defaults."""
        language = str(getattr(settings, "LANGUAGE_CODE", "fr") or "fr")[:2].lower()
        return cls(
            provider=settings.LLM_PROVIDER,
            ollama_base_url=settings.OLLAMA_BASE_URL,
            ollama_model=settings.OLLAMA_MODEL,
            openai_api_key=settings.OPENAI_API_KEY,
            openai_model=settings.OPENAI_MODEL,
            openai_base_url=settings.OPENAI_BASE_URL,
            timeout_seconds=float(settings.LLM_TIMEOUT_SECONDS),
            context_tokens=int(settings.LLM_CONTEXT_TOKENS),
            max_streams=int(getattr(settings, "AI_MAX_STREAMS", 500)),
            default_language=language if language in ("fr", "en") else "fr",
        )
