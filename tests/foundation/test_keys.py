"""core.keys, the one key rule, and its browser copy in static/js/keys.js (which must never
disagree with it: the UI would accept keys the API refuses, or the reverse)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.keys import ISSUE_KEY, ISSUE_KEY_IN_TEXT_RE, issue_key_normalize, project_key_normalize

KEYS_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "keys.js"


def test_the_browser_uses_the_same_issue_key_pattern() -> None:
    source = KEYS_JS.read_text(encoding="utf-8")

    declared = re.findall(r'^export const ISSUE_KEY_SOURCE = "([^"\\]*)";$', source, re.MULTILINE)

    assert declared == [ISSUE_KEY]
    # Both browser patterns are built from that one source, not written out again.
    assert "new RegExp(`^${ISSUE_KEY_SOURCE}$`)" in source
    assert 'new RegExp(`\\\\b(${ISSUE_KEY_SOURCE})\\\\b`, "g")' in source


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("PAY-42", "PAY-42"),
        ("ab_c-1", "AB_C-1"),
        (" AB_C-12 ", "AB_C-12"),
        ("ABC-0", None),
        ("AB_C-01", None),
        ("A-1", None),
        ("_AB-1", None),
        ("1AB-1", None),
        ("PAY-1 OR 1=1", None),
        ("PAY", None),
        (42, None),
        ("A" * 62 + "-1", "A" * 62 + "-1"),
        ("A" * 63 + "-1", None),
    ],
)
def test_issue_keys_are_upper_cased_or_refused(typed: object, key: str | None) -> None:
    assert issue_key_normalize(typed) == key


@pytest.mark.parametrize(
    ("typed", "key"), [("ab_c", "AB_C"), ("MOB", "MOB"), ("A", None), ("AB-C", None)]
)
def test_project_keys_are_upper_cased_or_refused(typed: str, key: str | None) -> None:
    assert project_key_normalize(typed) == key


def test_keys_cited_in_a_text_are_found_as_jira_writes_them() -> None:
    text = "See AB_C-1, PAY-42 and (MOB-7); not ab_c-2, XAB_C-3x, PAY-0 or U-1."

    assert ISSUE_KEY_IN_TEXT_RE.findall(text) == ["AB_C-1", "PAY-42", "MOB-7"]
