"""Helpers for the Atlassian sandbox tests: log in through the real consent form, call Jira."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandbox.atlassian.data import ACME, GLOBEX

DEMO_CLIENT = "jira-ai-demo"
DEMO_SECRET = "jira-ai-demo-secret"
DEMO_REDIRECT = "http://127.0.0.1:8000/oauth/callback"
SCOPES = "read:jira-work read:jira-user offline_access"
ACME_ID = ACME.cloud_id
GLOBEX_ID = GLOBEX.cloud_id


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


def consent(
    url: str, account_id: str, decision: str = "accept", **overrides: str
) -> httpx.Response:
    """GET the consent page, then submit its form as a browser would (hidden fields echoed)."""
    page = httpx.get(f"{url}/authorize", params=authorize_params(**overrides))
    assert page.status_code == 200, page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form = {k: v.replace("&amp;", "&").replace("&quot;", '"') for k, v in form.items()}
    form["account_id"] = account_id
    form["decision"] = decision
    return httpx.post(f"{url}/authorize", data=form)


def get_code(url: str, account_id: str, **overrides: str) -> str:
    response = consent(url, account_id, **overrides)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0]


def exchange(url: str, code: str, **overrides: str) -> httpx.Response:
    body = {
        "grant_type": "authorization_code",
        "client_id": DEMO_CLIENT,
        "client_secret": DEMO_SECRET,
        "code": code,
        "redirect_uri": DEMO_REDIRECT,
    }
    body.update(overrides)
    return httpx.post(f"{url}/oauth/token", json=body)


def refresh(url: str, refresh_token: str, **overrides: str) -> httpx.Response:
    body = {
        "grant_type": "refresh_token",
        "client_id": DEMO_CLIENT,
        "client_secret": DEMO_SECRET,
        "refresh_token": refresh_token,
    }
    body.update(overrides)
    return httpx.post(f"{url}/oauth/token", json=body)


def login(url: str, account_id: str, **overrides: str) -> dict[str, Any]:
    response = exchange(url, get_code(url, account_id, **overrides))
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class JiraClient:
    url: str
    token: str
    cloud_id: str = ACME_ID

    @property
    def base(self) -> str:
        return f"{self.url}/ex/jira/{self.cloud_id}/rest/api/3"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.base}/{path}", params=params, headers=self.headers, timeout=30)

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.base}/{path}", json=body, headers=self.headers, timeout=30)

    def site(self, cloud_id: str) -> JiraClient:
        return JiraClient(self.url, self.token, cloud_id)

    def search_all(self, jql: str, page: int = 100, **extra: Any) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        body: dict[str, Any] = {"jql": jql, "maxResults": page, **extra}
        while True:
            response = self.post("search/jql", body)
            assert response.status_code == 200, response.text
            data = response.json()
            issues.extend(data["issues"])
            if data["isLast"]:
                assert "nextPageToken" not in data
                return issues
            body["nextPageToken"] = data["nextPageToken"]


def jira_for(url: str, account_id: str, cloud_id: str = ACME_ID) -> JiraClient:
    return JiraClient(url, login(url, account_id)["access_token"], cloud_id)
