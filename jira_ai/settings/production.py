"""Production: no default secret, HTTPS only, JSON logs. Refuses to start half-configured."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from core.observability import logging_config
from jira_ai.settings.env import ENV

_missing = [
    name
    for name, value in (
        ("DJANGO_SECRET_KEY", ENV.DJANGO_SECRET_KEY),
        ("ALLOWED_HOSTS", ENV.ALLOWED_HOSTS_EXPLICIT),
        ("REDIS_URL", ENV.REDIS_URL),
        ("TOKEN_ENCRYPTION_KEY", ENV.TOKEN_ENCRYPTION_KEY),
        ("ATLASSIAN_CLIENT_ID", ENV.ATLASSIAN_CLIENT_ID),
        ("ATLASSIAN_CLIENT_SECRET", ENV.ATLASSIAN_CLIENT_SECRET),
    )
    if not value
]
if ENV.AI_SERVICE_URL and not ENV.AI_SHARED_SECRET:
    _missing.append("AI_SHARED_SECRET (required when AI_SERVICE_URL is set)")
if _missing:
    raise ImproperlyConfigured(
        "Production settings refuse to start without: " + ", ".join(_missing)
    )
if len(ENV.DJANGO_SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")
if not ENV.AI_AUTH_ENABLED:
    raise ImproperlyConfigured("AI_AUTH_ENABLED=false is for development only.")

from jira_ai.settings.base import *  # noqa: E402,F403

DEBUG = False
LOG_JSON = True
LOGGING = logging_config(json_logs=True, levels={"django.request": "ERROR"})

SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
