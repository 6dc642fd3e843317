"""The sandbox's control API (``/_sandbox/...``, sandbox/README.md): faults, the LLM's pace, the
counters, and waits on them done by the sandbox itself (a long poll), never by polling it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

TIMEOUT = 5.0


def _post(sandbox_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(sandbox_url + path, json=body, timeout=TIMEOUT)
    response.raise_for_status()
    return dict(response.json()) if response.content else {}


def reset(sandbox_url: str) -> None:
    """Faults, counters, codes, tokens, budgets and the LLM's pace back to their start."""
    _post(sandbox_url, "/_sandbox/reset", {})


def withhold_scopes(sandbox_url: str, scopes: Sequence[str]) -> None:
    """Until the next reset, consents grant what is asked less ``scopes`` (e.g. the Jira
    Software ones: a token from before the app asked for them); ``[]`` grants all again."""
    _post(sandbox_url, "/_sandbox/grants/withhold", {"scopes": list(scopes)})


def enable_scopes(sandbox_url: str, client_id: str, scopes: Sequence[str]) -> None:
    """Until the next reset, the OAuth app ``client_id`` has only ``scopes`` enabled (its
    console): a sign-in asking for another one fails with ``invalid_scope``."""
    _post(sandbox_url, f"/_sandbox/clients/{client_id}/scopes", {"scopes": list(scopes)})


def add_fault(sandbox_url: str, target: str, **spec: Any) -> int:
    """A fault on ``target`` (``oauth``, ``jira`` or ``llm``): ``mode``, ``path_regex``,
    ``status``, ``retry_after``, ``delay_ms``, ``count``. Returns its id."""
    return int(_post(sandbox_url, "/_sandbox/faults", {"target": target, **spec})["id"])


def clear_faults(sandbox_url: str) -> None:
    httpx.delete(sandbox_url + "/_sandbox/faults", timeout=TIMEOUT).raise_for_status()


def llm_pace(sandbox_url: str, *, tokens_per_second: float, first_token_ms: int = 0) -> None:
    _post(
        sandbox_url,
        "/_sandbox/llm",
        {"tokens_per_second": tokens_per_second, "first_token_ms": first_token_ms},
    )


def llm_state(sandbox_url: str) -> dict[str, Any]:
    """``GET /_sandbox/llm``: the pace, ``active_streams``, ``last_stream`` (when the sandbox
    wrote the pieces of the last streamed answer)."""
    response = httpx.get(sandbox_url + "/_sandbox/llm", timeout=TIMEOUT)
    response.raise_for_status()
    return dict(response.json())


def llm_active(sandbox_url: str) -> int:
    """The LLM answers the sandbox is writing now."""
    return int(llm_state(sandbox_url)["active_streams"])


def llm_received(sandbox_url: str) -> list[dict[str, Any]]:
    """The chat requests the LLM received since the reset, oldest first: ``vendor``, ``model``,
    ``stream``, ``messages``."""
    response = httpx.get(sandbox_url + "/_sandbox/llm/requests", timeout=TIMEOUT)
    response.raise_for_status()
    return list(response.json()["requests"])


def stats(sandbox_url: str) -> dict[str, Any]:
    """``GET /_sandbox/stats``: ``routes`` ({"METHOD /template": n}), ``counters``, the named
    counters (``tokens_issued``, ``refreshes``, ``llm_cancelled``), and per route
    ``max_in_flight`` and ``last_gap_ms`` (between its last two arrivals)."""
    response = httpx.get(sandbox_url + "/_sandbox/stats", timeout=TIMEOUT)
    response.raise_for_status()
    return dict(response.json())


def _wait_params(conditions: tuple[str, ...], timeout: float) -> dict[str, str]:
    return {"wait_for": ",".join(conditions), "timeout": str(timeout)}


def _waited(response: httpx.Response, conditions: tuple[str, ...]) -> dict[str, Any]:
    if response.status_code == 408:
        raise AssertionError(
            f"the sandbox did not see {', '.join(conditions)} in time: "
            f"{response.json()['counters']}"
        )
    response.raise_for_status()
    return dict(response.json())


def wait_for(sandbox_url: str, *conditions: str, timeout: float = 10.0) -> dict[str, Any]:
    """The stats once every condition holds (``"llm_cancelled>=4"``: a counter, an operator
    among ``>= <= == > <``, an integer): the sandbox answers as soon as they do. Fails when they
    do not hold within ``timeout`` seconds."""
    response = httpx.get(
        sandbox_url + "/_sandbox/stats",
        params=_wait_params(conditions, timeout),
        timeout=timeout + TIMEOUT,
    )
    return _waited(response, conditions)


async def wait_for_async(
    sandbox_url: str, *conditions: str, timeout: float = 10.0
) -> dict[str, Any]:
    """:func:`wait_for` for a test whose own event loop must run meanwhile (the code under test
    runs in it, e.g. closing its upstream requests)."""
    async with httpx.AsyncClient(timeout=timeout + TIMEOUT) as client:
        response = await client.get(
            sandbox_url + "/_sandbox/stats", params=_wait_params(conditions, timeout)
        )
    return _waited(response, conditions)


def jira_routes(sandbox_url: str) -> dict[str, int]:
    """The request count of each Jira route (``/ex/jira/...``) since the reset."""
    return {k: v for k, v in stats(sandbox_url)["routes"].items() if "/ex/jira/" in k}


def jira_requests(sandbox_url: str) -> int:
    return sum(jira_routes(sandbox_url).values())


def llm_requests(sandbox_url: str) -> int:
    """The chat requests the LLM received since the reset (both vendors' routes)."""
    return int(stats(sandbox_url)["counters"].get("llm_requests", 0))
