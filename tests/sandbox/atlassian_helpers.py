"""Jira as the sandbox serves it, called with a bearer token as any REST client would (the token
comes from the one OAuth dance, ``tests.support.signin``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.ids import ACME
from tests.support.signin import tokens_for


@dataclass
class JiraClient:
    url: str
    token: str
    cloud_id: str = ACME

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


def jira_for(url: str, account_id: str, cloud_id: str = ACME) -> JiraClient:
    return JiraClient(url, tokens_for(url, account_id)["access_token"], cloud_id)
