"""Sign a sandbox account in through the real OAuth dance, over HTTP, like a browser would.

``client = await sign_in(api_url, "712020:alice-0001", cloud_id=None)`` returns an
``httpx.AsyncClient(base_url=api_url)`` carrying the ``sid`` and ``csrftoken`` cookies and the
``X-CSRFToken`` header. The caller closes it (``await client.aclose()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(html):
        attrs = {k.lower(): unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


@dataclass
class Dance:
    """The steps of one sign-in, for tests that want to tamper with one of them."""

    client: httpx.AsyncClient
    authorize_url: str  # where POST /login sent the browser (the sandbox's consent page)
    consent_fields: dict[str, str]


async def dance_begin(client: httpx.AsyncClient, next_url: str | None = None) -> Dance:
    """GET /login (CSRF cookie), POST /login, GET the consent page."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    csrf = client.cookies.get("csrftoken")
    assert csrf, "GET /login set no csrftoken cookie"
    data = {"csrfmiddlewaretoken": csrf}
    if next_url is not None:
        data["next"] = next_url
    started = await client.post("/login", data=data)
    assert started.status_code == 302, (started.status_code, started.text[:500])
    authorize_url = started.headers["location"]
    async with httpx.AsyncClient(timeout=10) as browser:
        consent = await browser.get(authorize_url)
    assert consent.status_code == 200, consent.text[:500]
    return Dance(client, authorize_url, hidden_fields(consent.text))


async def dance_consent(dance: Dance, account_id: str, decision: str = "accept") -> str:
    """Submit the consent form; returns the callback URL the sandbox redirects to."""
    parts = urlsplit(dance.authorize_url)
    action = f"{parts.scheme}://{parts.netloc}/authorize"
    form = {**dance.consent_fields, "account_id": account_id, "decision": decision}
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.post(action, data=form)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def sign_in(api_url: str, account_id: str, cloud_id: str | None = None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=api_url, timeout=20)
    try:
        dance = await dance_begin(client)
        callback = await dance_consent(dance, account_id)
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
