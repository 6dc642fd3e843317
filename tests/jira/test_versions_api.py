"""GET /jira/projects/{key}/versions under Daphne, signed in through the real OAuth dance on the
sandbox: the project's versions in Jira's order as the sandbox's dataset holds them, and the
errors (an unknown or unbrowsable project, a malformed key)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.atlassian.data import Dataset
from tests.support.ids import ALICE
from tests.support.signin import SignIn

pytestmark = pytest.mark.django_db(transaction=True)

DATA = Dataset(42)


@pytest.fixture
async def alice(sign_in_as: SignIn) -> httpx.AsyncClient:
    return await sign_in_as(ALICE)


async def test_versions_of_a_project_in_jiras_order(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/projects/pay/versions", params={"refresh": "true"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "versions": [
            {
                "id": v.id,
                "name": v.name,
                "released": v.released,
                "archived": v.archived,
                "release_date": v.release_date.isoformat() if v.release_date else None,
                "start_date": v.start_date.isoformat() if v.start_date else None,
            }
            for v in DATA.versions["PAY"]
        ]
    }


@pytest.mark.parametrize("key", ["NOPE", "OPS"])
async def test_an_unknown_or_unbrowsable_project_is_404(alice: httpx.AsyncClient, key: str) -> None:
    response = await alice.get(f"/jira/projects/{key}/versions")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Project does not exist or you do not have permission to see it.",
        "code": "project_not_found",
    }


async def test_a_malformed_key_is_422(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/projects/p-1!/versions")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
