"""Settings of ai-service (``DJANGO_SETTINGS_MODULE=ai_service.settings``); the one module of this
project that reads the environment. No database, no sessions: a stateless JSON/SSE service."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_float, env_int, env_int_or_auto, env_list, env_str
from core.observability import logging_config

DEBUG = env_bool("DJANGO_DEBUG", True)
PRODUCTION = env_bool("AI_SERVICE_PRODUCTION", not DEBUG)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-jira-ai-secret-key-change-me-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

AI_AUTH_ENABLED = env_bool("AI_AUTH_ENABLED", True)
AI_SHARED_SECRET = env_list("AI_SHARED_SECRET")
AI_TOKEN_TTL_SECONDS = env_int("AI_TOKEN_TTL_SECONDS", 60, minimum=1)
AI_MAX_BODY_BYTES = env_int("AI_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
# Per process, on purpose (LLM_MAX_CONCURRENCY below is the one shared through Redis): it guards
# this process's memory and sockets; N processes take N x AI_MAX_STREAMS streams.
AI_MAX_STREAMS = env_int("AI_MAX_STREAMS", 500, minimum=1)
# A comment line on idle streams, so that proxies do not close them (at least every 15 s).
AI_KEEPALIVE_SECONDS = env_float("AI_KEEPALIVE_SECONDS", 15.0, minimum=0.05)
if not AI_SHARED_SECRET and DEBUG:
    # Development only: the same derivation as the API's, so `make demo` needs no configuration.
    AI_SHARED_SECRET = [hashlib.sha256(f"ai-service:{SECRET_KEY}".encode()).hexdigest()]

LLM_PROVIDER = env_str("LLM_PROVIDER", "ollama").lower()
OLLAMA_BASE_URL = env_str("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/")
OLLAMA_MODEL = env_str("OLLAMA_MODEL", "llama3.1:8b")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL").rstrip("/")
# The shared LLM limiter and the token calibration (see the README); unset: this process only.
REDIS_URL = env_str("REDIS_URL")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 600.0, minimum=0.1)
LLM_CONNECT_TIMEOUT_SECONDS = env_float("LLM_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.05)
LLM_FIRST_TOKEN_TIMEOUT_SECONDS = env_float("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", 300.0, minimum=0.05)
LLM_IDLE_TIMEOUT_SECONDS = env_float("LLM_IDLE_TIMEOUT_SECONDS", 60.0, minimum=0.05)
LLM_CONTEXT_TOKENS = env_int_or_auto("LLM_CONTEXT_TOKENS", minimum=512)
LLM_MAX_CONCURRENCY = env_int_or_auto("LLM_MAX_CONCURRENCY", minimum=1)
LLM_QUEUE_MAX = env_int("LLM_QUEUE_MAX", 64, minimum=0)
LLM_KEEP_ALIVE = env_str("LLM_KEEP_ALIVE", "30m")
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "fr")
HEALTH_CHECK_TIMEOUT_SECONDS = env_float("HEALTH_CHECK_TIMEOUT_SECONDS", 1.0, minimum=0.05)
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "jira-ai-service")

if LLM_PROVIDER not in {"ollama", "openai"}:
    raise ImproperlyConfigured(f"LLM_PROVIDER must be 'ollama' or 'openai', not {LLM_PROVIDER!r}")
if LLM_PROVIDER == "openai" and not OPENAI_API_KEY:
    raise ImproperlyConfigured("OPENAI_API_KEY is required when LLM_PROVIDER=openai.")
if PRODUCTION:
    missing = [
        n
        for n, v in (
            ("DJANGO_SECRET_KEY", env_str("DJANGO_SECRET_KEY")),
            ("AI_SHARED_SECRET", AI_SHARED_SECRET),
            ("REDIS_URL", REDIS_URL),
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
    "core.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestContextMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "core.middleware.PrometheusAfterMiddleware",
]
# /docs is the only HTML ai-service serves; ninja's Swagger page loads its assets from /static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
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
LOGGING: dict[str, Any] = logging_config(json_logs=PRODUCTION or not DEBUG)
