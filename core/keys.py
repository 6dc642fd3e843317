"""Jira's key rules, the one copy: a project key is a capital letter then capitals, digits or
underscores (``PAY``, ``AB_C``: Jira allows ``_`` in project keys); an issue key is a project key,
``-`` and a number from 1 (``AB_C-12``). Input is accepted in any case and upper-cased.

``static/js/keys.js`` carries the same pattern for the browser (a test compares them).
"""

from __future__ import annotations

import re

PROJECT_KEY = r"[A-Z][A-Z0-9_]+"
ISSUE_KEY = rf"{PROJECT_KEY}-[1-9][0-9]*"
PROJECT_KEY_RE = re.compile(rf"^{PROJECT_KEY}$")
ISSUE_KEY_RE = re.compile(rf"^{ISSUE_KEY}$")
# Keys cited in a text (a model's answer, a comment): upper case only, as Jira writes them.
ISSUE_KEY_IN_TEXT_RE = re.compile(rf"\b{ISSUE_KEY}\b")
MAX_KEY_LENGTH = 64


def issue_key_normalize(value: object) -> str | None:
    """``value`` as an issue key (upper-cased), or None when it is not one."""
    if not isinstance(value, str):
        return None
    key = value.strip().upper()
    return key if len(key) <= MAX_KEY_LENGTH and ISSUE_KEY_RE.fullmatch(key) else None


def project_key_normalize(value: object) -> str | None:
    """``value`` as a project key (upper-cased), or None when it is not one."""
    if not isinstance(value, str):
        return None
    key = value.strip().upper()
    return key if len(key) <= MAX_KEY_LENGTH and PROJECT_KEY_RE.fullmatch(key) else None


def key_order(key: str) -> tuple[str, int]:
    """Jira's order of issue keys: project, then number (``PAY-9`` before ``PAY-10``)."""
    project, _, number = key.rpartition("-")
    return project, int(number) if number.isdigit() else 0
