"""A throwaway PostgreSQL database for the scaled-out API processes, one per test session.

The machine's server (``SCALE_POSTGRES_URL``, by default ``postgres://postgres@127.0.0.1:5432/
test``: trust auth on loopback) is only the door: each session creates ``jira_ai_scale_<pid>``
beside ``test``, migrates it once and drops it at the end, so that concurrent runs (other
worktrees, a second terminal) never share users or migrations. The suite does not start a server
of its own: PostgreSQL refuses to run as root, which CI is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.support.servers import ROOT

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    return os.environ.get("SCALE_POSTGRES_URL") or DEFAULT_ADMIN_URL


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def reachable(url: str) -> str | None:
    """None when the server answers at ``url``, else why not (for the skip or the failure)."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        host = urlsplit(url).hostname
        port = urlsplit(url).port or 5432
        return f"PostgreSQL at {host}:{port} refused the connection ({type(exc).__name__})"


def database_create(url: str) -> str:
    """A fresh, migrated database next to ``url``'s; its URL (the processes' ``DATABASE_URL``)."""
    name = f"jira_ai_scale_{os.getpid()}"
    database_drop(url, name)  # a leftover of a killed run that had the same pid
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = _with_database(url, name)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "jira_ai.settings.test",
            "DATABASE_URL": database_url,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    if migrate.returncode != 0:
        database_drop(url, name)
        raise RuntimeError("migrate failed on PostgreSQL:\n" + migrate.stdout + migrate.stderr)
    return database_url


def database_drop(url: str, name: str) -> None:
    """Drops ``name`` even with connections left open (a process killed by a test)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def superuser_create(database_url: str, username: str, password: str) -> None:
    """An /admin/ superuser in that database, made as an operator would (``createsuperuser``)."""
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", username],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "jira_ai.settings.test",
            "DATABASE_URL": database_url,
            "DJANGO_SUPERUSER_PASSWORD": password,
            "DJANGO_SUPERUSER_EMAIL": f"{username}@example.invalid",
        },
        capture_output=True,
        check=True,
        timeout=120,
    )


def last_login_of(database_url: str, username: str) -> object:
    """``auth_user.last_login`` of ``username``, read from PostgreSQL itself."""
    with psycopg.connect(database_url, connect_timeout=3) as connection:
        row = connection.execute(
            "SELECT last_login FROM auth_user WHERE username = %s", (username,)
        ).fetchone()
    assert row is not None, f"no user {username} in {database_name(database_url)}"
    return row[0]
