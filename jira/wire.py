"""Reading Jira's JSON bodies.

Stdlib :mod:`json` first (it is the fastest here and parses ADF deeper than pydantic's parser does);
it raises ``RecursionError`` past ~1,000 nested levels, which one deeply nested ADF field (a
description, a comment) is enough to reach. Then the body is read again by an iterative parser
that keeps everything else and replaces each value nested deeper than ``max_depth`` with a
:data:`TOO_DEEP` marker node, so that the ADF converter turns that one field into a clean
per-field error instead of the whole issue failing.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

TOO_DEEP_TYPE = "__jira_ai_too_deep__"
MAX_DEPTH = 900

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_SKIP = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_LITERALS = (("true", True), ("false", False), ("null", None))


def too_deep_marker() -> dict[str, str]:
    return {"type": TOO_DEEP_TYPE}


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON body; ``ValueError`` when it is not JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return loads_iterative(text, max_depth=max_depth)


def _skip_container(s: str, i: int) -> int:
    depth = 0
    for match in _SKIP.finditer(s, i):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    raise ValueError("unterminated JSON container")


def _key(s: str, i: int) -> tuple[str, int]:
    if s[i] != '"':
        raise ValueError(f"expected a property name at {i}")
    key, i = scanstring(s, i + 1)
    i = _WS.match(s, i).end()  # type: ignore[union-attr]
    if s[i] != ":":
        raise ValueError(f"expected ':' at {i}")
    return key, _WS.match(s, i + 1).end()  # type: ignore[union-attr]


def loads_iterative(s: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON parser with an explicit stack (no recursion, any depth); values nested deeper than
    ``max_depth`` become :func:`too_deep_marker`."""
    try:
        return _parse(s, max_depth)
    except (IndexError, KeyError) as exc:
        raise ValueError("truncated JSON") from exc


def _parse(s: str, max_depth: int) -> Any:
    ws = _WS.match
    stack: list[list[Any]] = []  # [container, pending key]
    i = ws(s, 0).end()  # type: ignore[union-attr]
    while True:
        char = s[i]
        value: Any
        if char in "{[":
            if len(stack) >= max_depth:
                i = _skip_container(s, i)
                value = too_deep_marker()
            else:
                i = ws(s, i + 1).end()  # type: ignore[union-attr]
                if char == "{":
                    if s[i] == "}":
                        value, i = {}, i + 1
                    else:
                        key, i = _key(s, i)
                        stack.append([{}, key])
                        continue
                elif s[i] == "]":
                    value, i = [], i + 1
                else:
                    stack.append([[], None])
                    continue
        elif char == '"':
            value, i = scanstring(s, i + 1)
        else:
            number = _NUMBER.match(s, i)
            if number and number.end() > i:
                text = number.group()
                value = float(text) if number.group(1) or number.group(2) else int(text)
                i = number.end()
            else:
                for literal, literal_value in _LITERALS:
                    if s.startswith(literal, i):
                        value, i = literal_value, i + len(literal)
                        break
                else:
                    raise ValueError(f"unexpected character at {i}")
        # Attach the value, closing every container that ends here.
        while True:
            if not stack:
                if ws(s, i).end() != len(s):  # type: ignore[union-attr]
                    raise ValueError("extra data after JSON")
                return value
            top = stack[-1]
            container = top[0]
            if isinstance(container, dict):
                container[top[1]] = value
            else:
                container.append(value)
            i = ws(s, i).end()  # type: ignore[union-attr]
            if s[i] == ",":
                i = ws(s, i + 1).end()  # type: ignore[union-attr]
                if isinstance(container, dict):
                    top[1], i = _key(s, i)
                break
            if s[i] != ("}" if isinstance(container, dict) else "]"):
                raise ValueError(f"expected ',' or a closing bracket at {i}")
            i += 1
            value = stack.pop()[0]
