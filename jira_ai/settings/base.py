"""Settings shared by every mode. Development works with zero configuration.

Modes: ``jira_ai.settings.base`` (development, the default of manage.py), ``.test`` (pytest) and
``.production`` (refuses to start without its secrets).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.observability import logging_config
from jira_ai.settings.env import ENV

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = ENV.DJANGO_DEBUG
# Development only: a fixed, clearly-named key so that `make demo` needs no configuration.
SECRET_KEY = ENV.DJANGO_SECRET_KEY or "dev-insecure-jira-ai-secret-key-change-me-in-production"
ALLOWED_HOSTS = ENV.ALLOWED_HOSTS

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "django_prometheus",
    "social_django",
    "jira_ai",
    "accounts",
    "jira",
    "ai_proxy",
]

# Every entry runs natively async (see core/middleware.py): under ASGI a classic
# MiddlewareMixin hops to a thread per hook, which halved throughput in the README's benchmark.
MIDDLEWARE = [
    "core.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestContextMiddleware",
    "jira_ai.middleware.SecurityMiddleware",
    "accounts.middleware.SessionMiddleware",
    "jira_ai.middleware.LocaleMiddleware",
    "jira_ai.middleware.CsrfViewMiddleware",
    "jira_ai.middleware.AuthenticationMiddleware",
    "jira_ai.middleware.MessageMiddleware",
    "jira_ai.middleware.XFrameOptionsMiddleware",
    "core.middleware.PrometheusAfterMiddleware",
]

# Django's deploy checks look for these three middleware by exact dotted path; ours are the same
# classes made hop-free under ASGI (subclasses), and jira_ai/checks.py re-checks what they guarded.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

ROOT_URLCONF = "jira_ai.urls"
ASGI_APPLICATION = "jira_ai.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(ENV.DATABASE_URL, conn_max_age=60)
    if ENV.DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        # Several Daphne processes (demo, tests) share the file: wait for locks instead of failing
        # with "database is locked", and let readers run beside the writer (WAL).
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis (sessions, token vault, caches, quotas, locks: all through core.redis) ------------
REDIS_URL = ENV.REDIS_URL
if not REDIS_URL and not DEBUG:
    raise ImproperlyConfigured("REDIS_URL is required when DJANGO_DEBUG is false.")

# --- Sessions (the signed `sid` cookie; store in accounts/) ---------------------------------
SESSION_COOKIE_NAME = "sid"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = ENV.SESSION_MAX_AGE_SECONDS
SESSION_ABSOLUTE_MAX_AGE_SECONDS = ENV.SESSION_ABSOLUTE_MAX_AGE_SECONDS
SESSION_SAVE_EVERY_REQUEST = False
SESSION_ENGINE = "accounts.sessions"  # JSON in Redis under session:{sid}; see accounts/sessions.py
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"
# Messages live in a signed cookie: no session I/O on the request path.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

CSRF_COOKIE_SAMESITE = "Lax"
CSRF_HEADER_NAME = "HTTP_X_CSRFTOKEN"
CSRF_FAILURE_VIEW = "jira_ai.views.csrf_failure"  # JSON csrf_failed, or a page

# Token vault keys: MultiFernet keys (comma-separated, first encrypts). Development derives one
# from SECRET_KEY so the demo needs no configuration; production requires TOKEN_ENCRYPTION_KEY.
TOKEN_ENCRYPTION_KEYS = ENV.TOKEN_ENCRYPTION_KEY
if not TOKEN_ENCRYPTION_KEYS:
    TOKEN_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"token-vault:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]

# --- Atlassian --------------------------------------------------------------------------------
ATLASSIAN_CLIENT_ID = ENV.ATLASSIAN_CLIENT_ID
ATLASSIAN_CLIENT_SECRET = ENV.ATLASSIAN_CLIENT_SECRET
ATLASSIAN_REDIRECT_URI = ENV.ATLASSIAN_REDIRECT_URI
ATLASSIAN_AUTH_URL = ENV.ATLASSIAN_AUTH_URL
ATLASSIAN_API_URL = ENV.ATLASSIAN_API_URL

# --- Sign-in (social-auth-app-django; the backend and pipeline are in accounts/) --------------
AUTHENTICATION_BACKENDS = [
    "accounts.backends.AtlassianOAuth2",
    "django.contrib.auth.backends.ModelBackend",  # /admin/ superusers
]
SOCIAL_AUTH_ATLASSIAN_KEY = ATLASSIAN_CLIENT_ID
SOCIAL_AUTH_ATLASSIAN_SECRET = ATLASSIAN_CLIENT_SECRET
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_URL = "/login"
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/ui"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/login"
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
SOCIAL_AUTH_REDIRECT_IS_HTTPS = not DEBUG
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_PROTECTED_USER_FIELDS = ["first_name", "last_name"]
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "accounts.pipeline.session_open",
)

# --- Jira -------------------------------------------------------------------------------------
JIRA_MAX_RETRY_WAIT_SECONDS = ENV.JIRA_MAX_RETRY_WAIT_SECONDS
JIRA_MAX_ATTEMPTS = ENV.JIRA_MAX_ATTEMPTS  # attempts per Jira call (first one included)
JIRA_RETRY_BUDGET_PERCENT = ENV.JIRA_RETRY_BUDGET_PERCENT  # retries: this % of a site's requests
JIRA_RETRY_BUDGET_WINDOW_SECONDS = ENV.JIRA_RETRY_BUDGET_WINDOW_SECONDS  # per window of this long
JIRA_RETRY_BUDGET_FLOOR = ENV.JIRA_RETRY_BUDGET_FLOOR  # retries a quiet site may always make
JIRA_CACHE_TTL_SECONDS = ENV.JIRA_CACHE_TTL_SECONDS
JIRA_MAX_CONCURRENCY = ENV.JIRA_MAX_CONCURRENCY
JIRA_CONNECT_TIMEOUT_SECONDS = 5.0
JIRA_READ_TIMEOUT_SECONDS = 30.0
# Connections per event loop to the Atlassian gateway: the bulk fetches never use more than
# JIRA_MAX_CONCURRENCY at once per request, so this bounds concurrent users' requests, not a burst.
JIRA_MAX_CONNECTIONS = 64
JIRA_SEARCH_PAGE_SIZE = 100  # Jira caps pages near 100 when many fields are asked for
JIRA_BREAKER_FAILURE_THRESHOLD = 5  # consecutive failures (5xx, network, timeouts) per site
JIRA_BREAKER_RESET_SECONDS = 30.0  # open for this long, then one probe request (half-open)

# --- AI ---------------------------------------------------------------------------------------
AI_SERVICE_URL = ENV.AI_SERVICE_URL
AI_SHARED_SECRET = ENV.AI_SHARED_SECRET
AI_TOKEN_TTL_SECONDS = ENV.AI_TOKEN_TTL_SECONDS
AI_AUTH_ENABLED = ENV.AI_AUTH_ENABLED
AI_SERVICE_CANARY_PERCENT = ENV.AI_SERVICE_CANARY_PERCENT
# "local": a call that cannot reach ai-service (connection refused or not made) runs on the local
# engine instead, counted in jira_ai_ai_service_fallback_total; "off": it is a 503.
AI_SERVICE_FALLBACK = ENV.AI_SERVICE_FALLBACK
AI_MAX_BODY_BYTES = ENV.AI_MAX_BODY_BYTES
AI_USER_REQUESTS_PER_MINUTE = ENV.AI_USER_REQUESTS_PER_MINUTE
# Per process, on purpose (not shared through Redis): it guards this process's memory and
# sockets; N processes behind a balancer take N x AI_MAX_STREAMS streams.
AI_MAX_STREAMS = ENV.AI_MAX_STREAMS
# A `: keepalive` comment on a stream silent for this long (docs/http-contract.md: at most 15 s).
AI_KEEPALIVE_SECONDS = ENV.AI_KEEPALIVE_SECONDS
# Resumable summary streams (core.runs): readers and the run's lease renew every heartbeat; a
# run whose readers all left (or stopped beating for three heartbeats) is cancelled.
AI_STREAM_HEARTBEAT_SECONDS = ENV.AI_STREAM_HEARTBEAT_SECONDS
# Summaries and analyses are keyed by their whole input (issues' `updated` included), so a stale
# entry is never served; the TTL only bounds Redis memory.
AI_CACHE_TTL_SECONDS = 24 * 3600
# An epic's child not Done and not updated for this many days is stale (ai_proxy.epic_facts).
AI_EPIC_STALE_DAYS = ENV.AI_EPIC_STALE_DAYS
LLM_PROVIDER = ENV.LLM_PROVIDER
OLLAMA_BASE_URL = ENV.OLLAMA_BASE_URL
OLLAMA_MODEL = ENV.OLLAMA_MODEL
OPENAI_API_KEY = ENV.OPENAI_API_KEY
OPENAI_MODEL = ENV.OPENAI_MODEL
OPENAI_BASE_URL = ENV.OPENAI_BASE_URL
LLM_TIMEOUT_SECONDS = ENV.LLM_TIMEOUT_SECONDS
LLM_CONNECT_TIMEOUT_SECONDS = ENV.LLM_CONNECT_TIMEOUT_SECONDS
LLM_FIRST_TOKEN_TIMEOUT_SECONDS = ENV.LLM_FIRST_TOKEN_TIMEOUT_SECONDS
LLM_IDLE_TIMEOUT_SECONDS = ENV.LLM_IDLE_TIMEOUT_SECONDS
LLM_CONTEXT_TOKENS = ENV.LLM_CONTEXT_TOKENS
LLM_MAX_CONCURRENCY = ENV.LLM_MAX_CONCURRENCY
LLM_QUEUE_MAX = ENV.LLM_QUEUE_MAX
LLM_KEEP_ALIVE = ENV.LLM_KEEP_ALIVE
if LLM_PROVIDER not in {"ollama", "openai"}:
    raise ImproperlyConfigured(f"LLM_PROVIDER must be 'ollama' or 'openai', not {LLM_PROVIDER!r}")
if AI_SERVICE_URL and AI_AUTH_ENABLED and not AI_SHARED_SECRET and not DEBUG:
    raise ImproperlyConfigured("AI_SHARED_SECRET is required when AI_SERVICE_URL is set.")
if AI_SERVICE_FALLBACK not in ("off", "local"):
    raise ImproperlyConfigured(
        f"AI_SERVICE_FALLBACK must be 'off' or 'local', not {AI_SERVICE_FALLBACK!r}"
    )
if not AI_SHARED_SECRET and DEBUG:
    # Development only: a key derived from SECRET_KEY so API and ai-service agree with no setup
    # when both run from the same environment (make demo).
    AI_SHARED_SECRET = [hashlib.sha256(f"ai-service:{SECRET_KEY}".encode()).hexdigest()]

# --- Health -----------------------------------------------------------------------------------
HEALTH_CHECK_TIMEOUT_SECONDS = ENV.HEALTH_CHECK_TIMEOUT_SECONDS

# --- Observability ----------------------------------------------------------------------------
OTEL_EXPORTER_OTLP_ENDPOINT = ENV.OTEL_EXPORTER_OTLP_ENDPOINT
OTEL_SERVICE_NAME = ENV.OTEL_SERVICE_NAME or "jira-ai-api"
LOG_JSON = not DEBUG
LOGGING: dict[str, Any] = logging_config(json_logs=LOG_JSON, levels={"django.request": "ERROR"})

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = ENV.LANGUAGE_CODE
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files (served by an ASGI branch in jira_ai/asgi.py, never a sync middleware) -------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Security headers (applied by jira_ai.middleware, tightened in production) -----------------
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    f"form-action 'self' {ATLASSIAN_AUTH_URL}; frame-ancestors 'none'"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGIN_URL = "/login"
