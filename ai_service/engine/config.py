"""The engine's configuration: built from settings by its callers, never read from Django."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Provider = Literal["ollama", "openai"]

# ``LLM_CONTEXT_TOKENS=auto``: the model's own context (``/api/show``), bounded by this. Ollama
# allocates the KV cache for the whole ``num_ctx`` (per parallel slot): 16,384 tokens of an 8B
# model at Q4 take about 2 GiB more than the 4,096 default, which a 16 GiB host or an 8 GiB GPU
# still holds; llama3.1's 131,072 would not.
AUTO_CONTEXT_MAX_TOKENS = 16_384
# Below this no analysis fits: the system rules, the task, an issue header and an answer.
MIN_CONTEXT_TOKENS = 1_024


@dataclass(frozen=True)
class EngineConfig:
    provider: Provider = "ollama"
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.1:8b"
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""
    # Total of one LLM call once it has its slot (queueing for the slot is not counted).
    timeout_seconds: float = 600.0
    connect_timeout_seconds: float = 5.0
    # Request sent -> first byte of the answer: long, since Ollama says nothing while it loads
    # the model and evaluates the prompt.
    first_token_timeout_seconds: float = 300.0
    # Between two chunks of an answer that has started.
    idle_timeout_seconds: float = 60.0
    # A cap (None: ``auto``, the model's context bounded by AUTO_CONTEXT_MAX_TOKENS).
    context_tokens: int | None = None
    # In-flight LLM calls across every process sharing ``redis_url`` (None: 1 for Ollama, whose
    # OLLAMA_NUM_PARALLEL defaults to 1, 4 for OpenAI) and how many may wait for a slot.
    max_concurrency: int | None = None
    queue_max: int = 64
    # Ollama's ``keep_alive`` (how long the model stays loaded after a request).
    keep_alive: str = "30m"
    # Ollama's ``think``: False unless asked (gpt-oss cannot turn it off: it gets "low").
    think: bool | str = False
    # The shared limiter and the token calibration live here; empty: this process only.
    redis_url: str = ""
    max_streams: int = 500
    default_language: str = "fr"

    @property
    def model(self) -> str:
        return self.ollama_model if self.provider == "ollama" else self.openai_model

    @property
    def base_url(self) -> str:
        if self.provider == "ollama":
            return self.ollama_base_url.rstrip("/")
        return self.openai_base_url.rstrip("/") or "https://api.openai.com/v1"

    @property
    def concurrency(self) -> int:
        if self.max_concurrency is not None:
            return max(self.max_concurrency, 1)
        return 1 if self.provider == "ollama" else 4

    @property
    def context_cap(self) -> int:
        return self.context_tokens if self.context_tokens is not None else AUTO_CONTEXT_MAX_TOKENS

    @property
    def limiter_scope(self) -> str:
        """What the concurrency limit is shared on: one LLM server (all its models)."""
        return f"{self.provider}:{self.base_url}"

    @classmethod
    def from_settings(cls, settings: Any) -> EngineConfig:
        """From any object with the README's setting names (Django's ``settings`` of either
        service); absent optional names keep their defaults."""
        language = str(getattr(settings, "LANGUAGE_CODE", "fr") or "fr")[:2].lower()
        defaults = cls()

        def get(name: str, default: Any) -> Any:
            value = getattr(settings, name, None)
            return default if value is None or value == "" else value

        context = get("LLM_CONTEXT_TOKENS", "auto")
        concurrency = get("LLM_MAX_CONCURRENCY", "auto")
        return cls(
            provider=settings.LLM_PROVIDER,
            ollama_base_url=settings.OLLAMA_BASE_URL,
            ollama_model=settings.OLLAMA_MODEL,
            openai_api_key=settings.OPENAI_API_KEY,
            openai_model=settings.OPENAI_MODEL,
            openai_base_url=settings.OPENAI_BASE_URL,
            timeout_seconds=float(settings.LLM_TIMEOUT_SECONDS),
            connect_timeout_seconds=float(
                get("LLM_CONNECT_TIMEOUT_SECONDS", defaults.connect_timeout_seconds)
            ),
            first_token_timeout_seconds=float(
                get("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", defaults.first_token_timeout_seconds)
            ),
            idle_timeout_seconds=float(
                get("LLM_IDLE_TIMEOUT_SECONDS", defaults.idle_timeout_seconds)
            ),
            context_tokens=None if str(context).lower() == "auto" else int(context),
            max_concurrency=None if str(concurrency).lower() == "auto" else int(concurrency),
            queue_max=int(get("LLM_QUEUE_MAX", defaults.queue_max)),
            keep_alive=str(get("LLM_KEEP_ALIVE", defaults.keep_alive)),
            redis_url=str(get("REDIS_URL", "")),
            max_streams=int(getattr(settings, "AI_MAX_STREAMS", 500)),
            default_language=language if language in ("fr", "en") else "fr",
        )
