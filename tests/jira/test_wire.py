"""The iterative JSON reader used when a Jira body is too deep for the json module."""

from __future__ import annotations

import json

import pytest

from jira.wire import TOO_DEEP_TYPE, loads, loads_iterative


def test_iterative_reader_matches_json_on_ordinary_bodies() -> None:
    body = json.dumps(
        {
            "a": [1, -2.5, 3e2, True, False, None, 'é"\\\n\u2028', {}, []],
            "b": {"c": {"d": [{"e": "f"}]}},
            "": "",
        }
    )
    assert loads_iterative(body) == json.loads(body)
    assert loads_iterative(" [ ] ") == []


def test_values_deeper_than_the_bound_become_a_marker_and_siblings_survive() -> None:
    body = '{"deep": ' + "[" * 50 + "]" * 50 + ', "after": "kept \\"[{\\" text"}'
    parsed = loads_iterative(body, max_depth=10)
    node = parsed["deep"]
    for _ in range(9):
        node = node[0]
    assert node == {"type": TOO_DEEP_TYPE}
    assert parsed["after"] == 'kept "[{" text'


@pytest.mark.parametrize("body", ['{"a": 1', "[1, 2", '{"a" 1}', "nul", "[1] 2", ""])
def test_malformed_bodies_raise_value_error(body: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - json.JSONDecodeError is a ValueError too
        loads_iterative(body)
    with pytest.raises(ValueError):  # noqa: PT011
        loads(body)
