"""A real peer of the suite (Redis, PostgreSQL, HAProxy, Chromium, node) that is missing is an
error, never a skip, with or without ``CI=true``: ``make test`` installs or starts what it can, and
the message says how to get the rest."""

from __future__ import annotations

from typing import NoReturn

import pytest


def missing_peer(what: str, how: str) -> NoReturn:
    pytest.fail(f"{what} is missing: {how}")
