"""The Atlassian OAuth 2.0 (3LO) dance against the sandbox, written once.

:func:`consent` is the dance's one browser step: GET the sandbox's consent page at an authorize
URL, then submit its form as a browser would (hidden fields echoed, an account chosen, accept or
deny); the answer is the sandbox's redirect to the client's callback, with a code or an error.
Around it:

- the sandbox's fixed demo app, for the suites that talk to the sandbox without our app:
  :func:`authorize_params`, :func:`get_code`, :func:`exchange`, :func:`refresh` and
  :func:`tokens_for` (consent, then the code exchanged for tokens);
- our app's sign-in, like a browser: :func:`dance_begin` (``GET /login``, ``POST /login``: the
  authorize URL our app built), :func:`dance_consent`, and :func:`sign_in`, the whole of it. These
  are async (the app's client is an ``httpx.AsyncClient``); the consent step runs in a thread, so
  the event loop never waits on a blocking call.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

DEMO_CLIENT = "jira-ai-demo"
DEMO_SECRET = "jira-ai-demo-secret"  # the sandbox's fixed demo app, not a secret
DEMO_REDIRECT = "http://127.0.0.1:8000/oauth/callback"
SCOPES = "read:jira-work read:jira-user offline_access"

# The ``signed_in`` fixture: ``await signed_in(server, account_id, cloud_id=None)``.
SignIn = Callable[..., Awaitable[httpx.AsyncClient]]

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_FORM = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def _attributes(tag: str) -> dict[str, str]:
    return {name.lower(): unescape(value) for name, value in _ATTR.findall(tag)}


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's form, unescaped, as a browser would submit them."""
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(html):
        attrs = _attributes(tag)
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def consent(authorize_url: str, account_id: str, decision: str = "accept") -> httpx.Response:
    """The consent page at ``authorize_url``, submitted for ``account_id`` with ``decision``
    (``accept`` or ``deny``): the sandbox's answer, not followed."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text[:500]
        form = _FORM.search(page.text)
        assert form is not None, f"no form on the consent page:\n{page.text[:500]}"
        action = urljoin(str(page.url), _attributes(form.group(0)).get("action", ""))
        fields = {**hidden_fields(page.text), "account_id": account_id, "decision": decision}
        return browser.post(action, data=fields)


# -- the sandbox's demo app --------------------------------------------------------------------


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "audience": "api.atlassian.com",
        "client_id": DEMO_CLIENT,
        "scope": SCOPES,
        "redirect_uri": DEMO_REDIRECT,
        "state": "st-123",
        "response_type": "code",
        "prompt": "consent",
    }
    params.update(overrides)
    return params


def authorize_url(sandbox_url: str, **overrides: str) -> str:
    return f"{sandbox_url}/authorize?{urlencode(authorize_params(**overrides))}"


def get_code(sandbox_url: str, account_id: str, **overrides: str) -> str:
    """An authorization code for ``account_id`` (``overrides``: authorize parameters)."""
    answer = consent(authorize_url(sandbox_url, **overrides), account_id)
    assert answer.status_code == 302, answer.text
    return query_of(answer.headers["location"])["code"]


def exchange(sandbox_url: str, code: str, **overrides: str) -> httpx.Response:
    body = {
        "grant_type": "authorization_code",
        "client_id": DEMO_CLIENT,
        "client_secret": DEMO_SECRET,
        "code": code,
        "redirect_uri": DEMO_REDIRECT,
    }
    body.update(overrides)
    return httpx.post(f"{sandbox_url}/oauth/token", json=body, timeout=10)


def refresh(sandbox_url: str, refresh_token: str, **overrides: str) -> httpx.Response:
    body = {
        "grant_type": "refresh_token",
        "client_id": DEMO_CLIENT,
        "client_secret": DEMO_SECRET,
        "refresh_token": refresh_token,
    }
    body.update(overrides)
    return httpx.post(f"{sandbox_url}/oauth/token", json=body, timeout=10)


def tokens_for(sandbox_url: str, account_id: str, **overrides: str) -> dict[str, Any]:
    """The token response of the whole dance for ``account_id`` through the demo app."""
    answer = exchange(sandbox_url, get_code(sandbox_url, account_id, **overrides))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# -- our app -----------------------------------------------------------------------------------


@dataclass
class Dance:
    """One sign-in through our app, for tests that tamper with one of its steps."""

    client: httpx.AsyncClient
    authorize_url: str  # where POST /login sent the browser (the sandbox's consent page)


async def dance_begin(client: httpx.AsyncClient, next_url: str | None = None) -> Dance:
    """``GET /login`` (the CSRF cookie), then ``POST /login``: the authorize URL of our app."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    csrf = client.cookies.get("csrftoken")
    assert csrf, "GET /login set no csrftoken cookie"
    data = {"csrfmiddlewaretoken": csrf}
    if next_url is not None:
        data["next"] = next_url
    started = await client.post("/login", data=data)
    assert started.status_code == 302, (started.status_code, started.text[:500])
    return Dance(client, started.headers["location"])


async def dance_consent(dance: Dance, account_id: str, decision: str = "accept") -> str:
    """The consent step of ``dance``: the callback URL (on our app) the sandbox redirects to."""
    answer = await asyncio.to_thread(consent, dance.authorize_url, account_id, decision)
    assert answer.status_code == 302, answer.text[:500]
    return str(answer.headers["location"])


async def sign_in(api_url: str, account_id: str, cloud_id: str | None = None) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient(base_url=api_url)`` signed in as ``account_id`` (on ``cloud_id``
    when given): the ``sid`` and ``csrftoken`` cookies, the ``X-CSRFToken`` header. The caller
    closes it."""
    client = httpx.AsyncClient(base_url=api_url, timeout=30)
    try:
        callback = await dance_consent(await dance_begin(client), account_id)
        done = await client.get(callback)
        assert done.status_code == 302, (done.status_code, done.text[:500])
        assert done.headers["location"] == "/ui", done.headers["location"]
        # login() rotated the CSRF token: use the new one.
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        if cloud_id is not None:
            chosen = await client.put("/me/site", json={"cloud_id": cloud_id})
            assert chosen.status_code == 200, chosen.text
    except BaseException:
        await client.aclose()
        raise
    return client
