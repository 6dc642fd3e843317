"""GET /jira/boards and /jira/boards/{id}/sprints under Daphne, signed in through the real OAuth
dance on the sandbox (the sign-in asks for the Agile scopes)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.atlassian.data import CHLOE
from tests.support.agile import DATA
from tests.support.ids import ALICE, GLOBEX
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def alice(sign_in_as: SignIn) -> httpx.AsyncClient:
    return await sign_in_as(ALICE)


async def test_boards_of_the_current_site(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/boards", params={"refresh": "true"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "boards": [
            {"id": b.id, "name": b.name, "type": b.type, "project_key": b.project.key}
            for b in DATA.boards.values()
            if b.project.key in ("PAY", "MOB")
        ]
    }


async def test_sprints_active_first_then_closed_newest_first_then_future(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.get("/jira/boards/10/sprints")

    assert response.status_code == 200, response.text
    sprints = response.json()["sprints"]
    raw = DATA.sprints["PAY"]
    closed = sorted((s for s in raw if s.state == "closed"), key=lambda s: s.end, reverse=True)
    ordered = (
        [s for s in raw if s.state == "active"] + closed + [s for s in raw if s.state == "future"]
    )
    assert [(s["id"], s["name"], s["state"], s["goal"]) for s in sprints] == [
        (s.id, s.name, s.state, s.goal) for s in ordered
    ]
    assert set(sprints[0]) == {
        "id",
        "name",
        "state",
        "start_date",
        "end_date",
        "complete_date",
        "goal",
    }
    assert sprints[0]["complete_date"] is None
    assert sprints[1]["complete_date"] is not None
    assert sprints[-1]["start_date"] is None


async def test_a_kanban_board_has_no_sprints(sign_in_as: SignIn) -> None:
    chloe = await sign_in_as(CHLOE.account_id, GLOBEX)

    response = await chloe.get("/jira/boards/12/sprints")

    assert response.status_code == 200, response.text
    assert response.json() == {"sprints": []}


async def test_an_unknown_board_is_404(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/boards/999/sprints")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Board does not exist or you do not have permission to see it.",
        "code": "board_not_found",
    }


async def test_a_non_numeric_board_id_is_422(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/boards/abc/sprints")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


async def test_openapi_declares_every_status(alice: httpx.AsyncClient) -> None:
    paths = (await alice.get("/openapi.json")).json()["paths"]

    boards = set(paths["/jira/boards"]["get"]["responses"])
    sprints = set(paths["/jira/boards/{board_id}/sprints"]["get"]["responses"])
    assert {"200", "401", "403", "422", "502", "503", "504"} <= boards
    assert {"200", "401", "403", "404", "422", "502", "503", "504"} <= sprints


async def test_signed_out_is_401(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        response = await anonymous.get("/jira/boards")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
