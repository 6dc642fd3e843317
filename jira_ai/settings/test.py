"""pytest settings: real Redis (a database index of the tests' own), SQLite unless DATABASE_URL."""

from __future__ import annotations

import os

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_DEBUG", "true")

from jira_ai.settings.base import *  # noqa: F403
from jira_ai.settings.base import BASE_DIR, DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that Daphne processes started by the tests share it; the
    # environment may name another one so that concurrent test runs do not clobber each other.
    _name = os.environ.get("JIRA_AI_TEST_DB") or str(BASE_DIR / ".test-db.sqlite3")
    DATABASES["default"]["NAME"] = _name
    DATABASES["default"]["TEST"] = {"NAME": _name}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
