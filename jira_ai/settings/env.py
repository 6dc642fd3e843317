"""The public API's configuration, read from the environment by :mod:`core.env`.

Every setting of the README's configuration table is parsed here into :data:`ENV`, with its default.
Settings modules import ``ENV``; application code reads ``django.conf.settings``, never the
environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from core.env import env_bool as _bool
from core.env import env_float as _float
from core.env import env_int as _int
from core.env import env_int_or_auto as _int_or_auto
from core.env import env_list as _list
from core.env import env_str as _str


@dataclass(frozen=True)
class Env:
    """Typed view of the process environment (documented in the README's configuration table)."""

    DJANGO_SECRET_KEY: str = field(default_factory=lambda: _str("DJANGO_SECRET_KEY"))
    DJANGO_DEBUG: bool = field(default_factory=lambda: _bool("DJANGO_DEBUG", True))
    ALLOWED_HOSTS: list[str] = field(
        default_factory=lambda: _list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
    )
    ALLOWED_HOSTS_EXPLICIT: bool = field(default_factory=lambda: bool(_list("ALLOWED_HOSTS")))
    REDIS_URL: str = field(default_factory=lambda: _str("REDIS_URL"))
    DATABASE_URL: str = field(default_factory=lambda: _str("DATABASE_URL"))
    SESSION_MAX_AGE_SECONDS: int = field(
        default_factory=lambda: _int("SESSION_MAX_AGE_SECONDS", 8 * 3600, minimum=60)
    )
    SESSION_ABSOLUTE_MAX_AGE_SECONDS: int = field(
        default_factory=lambda: _int("SESSION_ABSOLUTE_MAX_AGE_SECONDS", 24 * 3600, minimum=60)
    )
    TOKEN_ENCRYPTION_KEY: list[str] = field(default_factory=lambda: _list("TOKEN_ENCRYPTION_KEY"))
    ATLASSIAN_CLIENT_ID: str = field(default_factory=lambda: _str("ATLASSIAN_CLIENT_ID"))
    ATLASSIAN_CLIENT_SECRET: str = field(default_factory=lambda: _str("ATLASSIAN_CLIENT_SECRET"))
    ATLASSIAN_REDIRECT_URI: str = field(
        default_factory=lambda: _str(
            "ATLASSIAN_REDIRECT_URI", "http://127.0.0.1:8000/oauth/callback"
        )
    )
    ATLASSIAN_AUTH_URL: str = field(
        default_factory=lambda: _str("ATLASSIAN_AUTH_URL", "https://auth.atlassian.com").rstrip("/")
    )
    ATLASSIAN_API_URL: str = field(
        default_factory=lambda: _str("ATLASSIAN_API_URL", "https://api.atlassian.com").rstrip("/")
    )
    AI_SERVICE_URL: str = field(default_factory=lambda: _str("AI_SERVICE_URL").rstrip("/"))
    AI_SHARED_SECRET: list[str] = field(default_factory=lambda: _list("AI_SHARED_SECRET"))
    AI_TOKEN_TTL_SECONDS: int = field(
        default_factory=lambda: _int("AI_TOKEN_TTL_SECONDS", 60, minimum=1)
    )
    AI_AUTH_ENABLED: bool = field(default_factory=lambda: _bool("AI_AUTH_ENABLED", True))
    AI_SERVICE_CANARY_PERCENT: int = field(
        default_factory=lambda: _int("AI_SERVICE_CANARY_PERCENT", 100, maximum=100)
    )
    AI_SERVICE_FALLBACK: str = field(
        default_factory=lambda: _str("AI_SERVICE_FALLBACK", "off").lower()
    )
    AI_MAX_BODY_BYTES: int = field(
        default_factory=lambda: _int("AI_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
    )
    AI_USER_REQUESTS_PER_MINUTE: int = field(
        default_factory=lambda: _int("AI_USER_REQUESTS_PER_MINUTE", 20, minimum=1)
    )
    AI_MAX_STREAMS: int = field(default_factory=lambda: _int("AI_MAX_STREAMS", 500, minimum=1))
    AI_KEEPALIVE_SECONDS: float = field(
        default_factory=lambda: _float("AI_KEEPALIVE_SECONDS", 15.0, minimum=0.05)
    )
    AI_STREAM_HEARTBEAT_SECONDS: float = field(
        default_factory=lambda: _float("AI_STREAM_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
    )
    AI_EPIC_STALE_DAYS: int = field(
        default_factory=lambda: _int("AI_EPIC_STALE_DAYS", 14, minimum=1)
    )
    LLM_PROVIDER: str = field(default_factory=lambda: _str("LLM_PROVIDER", "ollama").lower())
    OLLAMA_BASE_URL: str = field(
        default_factory=lambda: _str("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/")
    )
    OLLAMA_MODEL: str = field(default_factory=lambda: _str("OLLAMA_MODEL", "llama3.1:8b"))
    OPENAI_API_KEY: str = field(default_factory=lambda: _str("OPENAI_API_KEY"))
    OPENAI_MODEL: str = field(default_factory=lambda: _str("OPENAI_MODEL", "gpt-4o-mini"))
    OPENAI_BASE_URL: str = field(default_factory=lambda: _str("OPENAI_BASE_URL").rstrip("/"))
    LLM_TIMEOUT_SECONDS: float = field(
        default_factory=lambda: _float("LLM_TIMEOUT_SECONDS", 600.0, minimum=0.1)
    )
    LLM_CONNECT_TIMEOUT_SECONDS: float = field(
        default_factory=lambda: _float("LLM_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.05)
    )
    LLM_FIRST_TOKEN_TIMEOUT_SECONDS: float = field(
        default_factory=lambda: _float("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", 300.0, minimum=0.05)
    )
    LLM_IDLE_TIMEOUT_SECONDS: float = field(
        default_factory=lambda: _float("LLM_IDLE_TIMEOUT_SECONDS", 60.0, minimum=0.05)
    )
    # None: auto (the model's context, bounded).
    LLM_CONTEXT_TOKENS: int | None = field(
        default_factory=lambda: _int_or_auto("LLM_CONTEXT_TOKENS", minimum=512)
    )
    # None: 1 for Ollama, 4 for OpenAI.
    LLM_MAX_CONCURRENCY: int | None = field(
        default_factory=lambda: _int_or_auto("LLM_MAX_CONCURRENCY", minimum=1)
    )
    LLM_QUEUE_MAX: int = field(default_factory=lambda: _int("LLM_QUEUE_MAX", 64, minimum=0))
    LLM_KEEP_ALIVE: str = field(default_factory=lambda: _str("LLM_KEEP_ALIVE", "30m"))
    JIRA_MAX_RETRY_WAIT_SECONDS: float = field(
        default_factory=lambda: _float("JIRA_MAX_RETRY_WAIT_SECONDS", 10.0)
    )
    JIRA_MAX_ATTEMPTS: int = field(
        default_factory=lambda: _int("JIRA_MAX_ATTEMPTS", 3, minimum=1, maximum=10)
    )
    JIRA_RETRY_BUDGET_PERCENT: float = field(
        default_factory=lambda: _float("JIRA_RETRY_BUDGET_PERCENT", 10.0)
    )
    JIRA_RETRY_BUDGET_WINDOW_SECONDS: float = field(
        default_factory=lambda: _float("JIRA_RETRY_BUDGET_WINDOW_SECONDS", 60.0)
    )
    JIRA_RETRY_BUDGET_FLOOR: int = field(
        default_factory=lambda: _int("JIRA_RETRY_BUDGET_FLOOR", 1, minimum=0)
    )
    JIRA_CACHE_TTL_SECONDS: int = field(default_factory=lambda: _int("JIRA_CACHE_TTL_SECONDS", 60))
    JIRA_MAX_CONCURRENCY: int = field(
        default_factory=lambda: _int("JIRA_MAX_CONCURRENCY", 8, minimum=1, maximum=64)
    )
    OTEL_EXPORTER_OTLP_ENDPOINT: str = field(
        default_factory=lambda: _str("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    OTEL_SERVICE_NAME: str = field(default_factory=lambda: _str("OTEL_SERVICE_NAME"))
    LANGUAGE_CODE: str = field(default_factory=lambda: _str("LANGUAGE_CODE", "fr"))
    HEALTH_CHECK_TIMEOUT_SECONDS: float = field(
        default_factory=lambda: _float("HEALTH_CHECK_TIMEOUT_SECONDS", 1.0, minimum=0.05)
    )

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


ENV = Env()
