"""pytest settings: real Redis (a database index of the tests' own), SQLite unless DATABASE_URL."""

from __future__ import annotations

import os

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_DEBUG", "true")

from jira_ai.settings.base import *  # noqa: F403
from jira_ai.settings.base import BASE_DIR, DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that Daphne processes started by the tests share it.
    DATABASES["default"]["NAME"] = str(BASE_DIR / ".test-db.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
