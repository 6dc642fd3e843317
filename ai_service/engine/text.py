"""Untrusted Jira text made safe to quote, and compact: invisible Unicode stripped, our data fence
neutralized, whitespace collapsed, lengths capped. (Token estimates: :mod:`.tokens`.)
"""

from __future__ import annotations

import re
import unicodedata

FENCE_OPEN = "<<<JIRA_DATA"
FENCE_CLOSE = "JIRA_DATA>>>"
_FENCE_WORD = re.compile(r"JIRA_DATA", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Mn ranges used to smuggle hidden text: variation selectors (and their supplement).
_INVISIBLE_MARKS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


def _visible(char: str) -> bool:
    if char in "\n\t":
        return True
    code = ord(char)
    if any(code in r for r in _INVISIBLE_MARKS):
        return False
    # Cf: zero-width spaces and joiners, bidi overrides, Unicode tags (E0000-E007F); Cc: controls;
    # Co/Cs/Cn: private use, surrogates, unassigned.
    return unicodedata.category(char) not in {"Cf", "Cc", "Co", "Cs", "Cn"}


def clean(text: str | None, *, limit: int | None = None) -> str:
    """``text`` stripped of invisible characters and of our fence word, whitespace collapsed,
    cut to ``limit`` characters (with an ellipsis)."""
    if not text:
        return ""
    text = "".join(c for c in text.replace("\r\n", "\n").replace("\r", "\n") if _visible(c))
    text = _FENCE_WORD.sub("JIRA-DATA", text)
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def one_line(text: str | None, *, limit: int | None = None) -> str:
    return clean((text or "").replace("\n", " "), limit=limit)
