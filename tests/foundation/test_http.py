"""core.http.retry_after_parse, the one Retry-After reader: whole seconds rounded up, HTTP-dates
against a given clock, absurd values read as none."""

from __future__ import annotations

import pytest

from core.http import retry_after_parse

NOW = 1_767_225_600.0  # Thu, 01 Jan 2026 00:00:00 GMT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("0", 0),
        ("2.2", 3),
        ("86400", 86400),
        ("Thu, 01 Jan 2026 00:00:30 GMT", 30),
        ("Wed, 31 Dec 2025 23:59:00 GMT", 0),  # already past: retry now
    ],
)
def test_values_read_as_whole_seconds_rounded_up(value: str, seconds: int) -> None:
    assert retry_after_parse(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "  ",
        "soon",
        "-1",
        "nan",
        "inf",
        "1e999",
        "86401",
        "Thu, 01 Jan 2026 00:00:30 -0000",
    ],
)
def test_absent_unreadable_or_absurd_values_are_none(value: str | None) -> None:
    assert retry_after_parse(value, now=NOW) is None
