"""Settings of ai-service (``DJANGO_SETTINGS_MODULE=ai_service.settings``); the one module of this
project that reads the environment. No database, no sessions: a stateless JSON/SSE service."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _bool(name: str, default: bool) -> bool:
    raw = _env(name, "true" if default else "false").lower()
    if raw not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")
    return raw in {"1", "true", "yes", "on"}


def _number(name: str, default: float) -> float:
    try:
        return float(_env(name) or default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number") from None


DEBUG = _bool("DJANGO_DEBUG", True)
PRODUCTION = _bool("AI_SERVICE_PRODUCTION", not DEBUG)
SECRET_KEY = _env("DJANGO_SECRET_KEY") or "dev-insecure-jira-ai-secret-key-change-me-in-production"
ALLOWED_HOSTS = [
    h.strip() for h in _env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()
]

AI_AUTH_ENABLED = _bool("AI_AUTH_ENABLED", True)
AI_SHARED_SECRET = [s.strip() for s in _env("AI_SHARED_SECRET").split(",") if s.strip()]
AI_TOKEN_TTL_SECONDS = int(_number("AI_TOKEN_TTL_SECONDS", 60))
AI_MAX_BODY_BYTES = int(_number("AI_MAX_BODY_BYTES", 5 * 1024 * 1024))
AI_MAX_STREAMS = int(_number("AI_MAX_STREAMS", 500))
# A comment line on idle streams, so that proxies do not close them (at least every 15 s).
AI_KEEPALIVE_SECONDS = _number("AI_KEEPALIVE_SECONDS", 15.0)
if not AI_SHARED_SECRET and DEBUG:
    # Development only: the same derivation as the API's, so `make demo` needs no configuration.
    AI_SHARED_SECRET = [hashlib.sha256(f"ai-service:{SECRET_KEY}".encode()).hexdigest()]

LLM_PROVIDER = _env("LLM_PROVIDER", "ollama").lower()
OLLAMA_BASE_URL = _env("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/")
OLLAMA_MODEL = _env("OLLAMA_MODEL", "llama3.1:8b")
OPENAI_API_KEY = _env("OPENAI_API_KEY")
OPENAI_MODEL = _env("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_BASE_URL = _env("OPENAI_BASE_URL").rstrip("/")
LLM_TIMEOUT_SECONDS = _number("LLM_TIMEOUT_SECONDS", 120.0)
LLM_CONTEXT_TOKENS = int(_number("LLM_CONTEXT_TOKENS", 8000))
LANGUAGE_CODE = _env("LANGUAGE_CODE", "fr")
HEALTH_CHECK_TIMEOUT_SECONDS = _number("HEALTH_CHECK_TIMEOUT_SECONDS", 1.0)
OTEL_EXPORTER_OTLP_ENDPOINT = _env("OTEL_EXPORTER_OTLP_ENDPOINT")
OTEL_SERVICE_NAME = _env("OTEL_SERVICE_NAME") or "jira-ai-service"

if LLM_PROVIDER not in {"ollama", "openai"}:
    raise ImproperlyConfigured(f"LLM_PROVIDER must be 'ollama' or 'openai', not {LLM_PROVIDER!r}")
if LLM_PROVIDER == "openai" and not OPENAI_API_KEY:
    raise ImproperlyConfigured("OPENAI_API_KEY is required when LLM_PROVIDER=openai.")
if PRODUCTION:
    missing = [
        n
        for n, v in (
            ("DJANGO_SECRET_KEY", _env("DJANGO_SECRET_KEY")),
            ("AI_SHARED_SECRET", AI_SHARED_SECRET),
        )
        if not v
    ]
    if missing:
        raise ImproperlyConfigured("ai-service refuses to start without: " + ", ".join(missing))
    if not AI_AUTH_ENABLED:
        raise ImproperlyConfigured("AI_AUTH_ENABLED=false is for development only.")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "ninja",
    "django_prometheus",
    "ai_service",
]
MIDDLEWARE = [
    "ai_service.middleware.PrometheusBeforeMiddleware",
    "ai_service.middleware.RequestIdMiddleware",
    "ai_service.middleware.BodySizeLimitMiddleware",
    "ai_service.middleware.PrometheusAfterMiddleware",
]
ROOT_URLCONF = "ai_service.urls"
ASGI_APPLICATION = "ai_service.asgi.application"
DATABASES: dict[str, Any] = {}
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
STATIC_URL = "/static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
# Checked by BodySizeLimitMiddleware (413); Django's own check would answer 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = AI_MAX_BODY_BYTES + 1
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "ai_service.observability.ContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [rid=%(request_id)s "
            "trace=%(trace_id)s] %(message)s"
        },
        "json": {"()": "ai_service.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "text" if DEBUG and not PRODUCTION else "json",
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"httpx": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}
