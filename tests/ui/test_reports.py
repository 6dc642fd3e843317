"""The *Rapports* section on the real API and sandbox: the board and sprint pickers (the active
sprint first, no future sprint), a sprint report streamed then rendered with its facts as tables
and bar charts (numbers as text) and its narrative, the epic report, *Copier en Markdown*, the
empty states (no board, a kanban board, no closed sprint, an epic key not found), the keyboard,
English, and axe with no violation in each state. One test writes the stream itself
(``ControlledStream``) to hold the states between two events: the progress bar and the narrative
as it is written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from sandbox.atlassian.data import Dataset
from tests.support.browser import (
    ControlledStream,
    PageEvents,
    assert_accessible,
    edit_json_answers,
    record_live_region,
    screenshot,
    sign_in,
)
from tests.support.ids import ACME_URL, ALICE, GLOBEX
from tests.support.servers import ServerFactory, ServerProcess
from tests.ui.conftest import _context, _forget

SCENARIO = Dataset(42).scenario
SPRINT_STREAM = "/ai/sprint-report/stream"
EPIC_LABEL = "Clé de l\u2019épopée"


@pytest.fixture(scope="session")
def reports_api(server_factory: ServerFactory) -> ServerProcess:
    """The API with a quota that a suite of report tests (one point each) cannot exhaust."""
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="1000")


@pytest.fixture
def reports_page(
    browser: Browser, reports_api: ServerProcess, sandbox_url: str, page_events: PageEvents
) -> Iterator[Page]:
    """Alice signed in on ``reports_api`` at a fast model pace, with no report nor Jira answer
    left in Redis by an earlier test."""
    from tests.support import sandbox

    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    _forget("jira:v1:*", "ai:sprint_report:*", "ai:epic_report:*")
    context = _context(browser, reports_api.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=reports_api.url)
    page = context.new_page()
    page.on("dialog", page_events.on_dialog)
    page.on("pageerror", page_events.on_error)
    sign_in(page, ALICE)
    yield page
    context.close()
    assert page_events.dialogs == [], f"a dialog opened: {page_events.dialogs}"
    assert page_events.errors == [], f"uncaught errors in the page: {page_events.errors}"


def section(page: Page) -> Any:
    return page.locator("#reports")


def sprint_form(page: Page) -> Any:
    return page.locator("#sprint-report-form")


def boards_loaded(page: Page) -> None:
    expect(page.get_by_label("Tableau", exact=True)).to_be_enabled()


def sprints_loaded(page: Page) -> None:
    expect(page.get_by_label("Sprint", exact=True)).to_be_enabled()


def options(page: Page, label: str) -> list[str]:
    return page.get_by_label(label, exact=True).locator("option").all_inner_texts()


def generate(form: Any) -> None:
    form.get_by_role("button", name="Générer le rapport").click()


def report_ready(page: Page) -> Any:
    title = page.locator("#report-result-title")
    expect(title).to_be_visible(timeout=60_000)
    expect(page.locator("#report-progress")).to_be_hidden(timeout=60_000)
    return title


def test_the_pickers_list_the_boards_then_the_active_sprint_first(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    boards_loaded(page)
    sprints_loaded(page)

    assert options(page, "Tableau") == ["PAY board (scrum)", "MOB board (scrum)"]
    sprints = options(page, "Sprint")
    assert sprints[0] == "PAY Sprint 21 (en cours)"
    assert re.fullmatch(r"PAY Sprint 20 \(terminé le .+\)", sprints[1])
    assert len(sprints) == 21  # 20 closed and the active one; the two future ones are not there
    assert not any("Sprint 22" in s or "Sprint 23" in s for s in sprints)
    expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_enabled()
    assert_accessible(page, axe_source)

    page.get_by_label("Tableau", exact=True).select_option(label="MOB board (scrum)")
    expect(page.get_by_label("Sprint", exact=True).locator("option").first).to_have_text(
        "MOB Sprint 21 (en cours)"
    )


def test_a_sprint_report_is_streamed_then_shown_with_its_figures_charts_and_narrative(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    sprints_loaded(page)
    said = record_live_region(page, "#reports-status")
    page.get_by_label("Sprint", exact=True).select_option(value="1020")

    generate(sprint_form(page))
    title = report_ready(page)

    expect(title).to_have_text("Rapport du sprint PAY Sprint 20")
    expect(title).to_be_focused()
    report = page.locator("#report-result article.report")
    facts = report.locator("table.facts")
    committed = facts.get_by_role("row", name=re.compile("^Engagé au démarrage"))
    expect(committed.locator("td").first).to_have_text(str(len(SCENARIO.committed)))
    added = facts.get_by_role("row", name=re.compile("^Ajouté en cours de sprint"))
    expect(added.locator("td").first).to_have_text(str(len(SCENARIO.added)))
    for key in SCENARIO.added:
        link = added.get_by_role("link", name=key, exact=True)
        expect(link).to_have_attribute("href", f"{ACME_URL}/browse/{key}")
    carried = facts.get_by_role("row", name=re.compile("^Reporté au sprint suivant"))
    expect(carried.locator("td").first).to_have_text(str(len(SCENARIO.carried_over)))
    committed_points = sum(SCENARIO.points[k] for k in SCENARIO.committed)
    chart = report.get_by_role("figure", name="Points engagés et terminés")
    expect(chart).to_contain_text(f"Engagé au démarrage : {committed_points:g} points")
    expect(chart.locator(".bar-track").first).to_have_attribute("aria-hidden", "true")
    expect(
        report.get_by_role("figure", name=re.compile(r"^Changement de périmètre : "))
    ).to_be_visible()
    velocity = report.get_by_role("table", name="Vélocité des derniers sprints (points)")
    expect(velocity.get_by_role("row").last).to_contain_text("PAY Sprint 20")
    expect(
        report.get_by_role("figure", name="Vélocité des derniers sprints (points)")
    ).to_be_visible()
    expect(report.locator(".narrative")).not_to_be_empty()
    for heading in ("Ce qui a bien marché", "Ce qui a glissé", "Risques", "Prochaines étapes"):
        expect(report.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    assert said()[0] == "Rapport en cours…"
    assert said()[-1].startswith("Rapport prêt. Analyse de ")
    assert_accessible(page, axe_source)
    screenshot(page, "sprint-report")


def test_the_progress_and_the_narrative_as_it_is_written_before_the_report(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    sprints_loaded(page)
    stream = ControlledStream(page, SPRINT_STREAM)
    page.get_by_label("Sprint", exact=True).select_option(value="1020")

    generate(sprint_form(page))
    expect(page.locator("#report-progress-text")).to_have_text("Démarrage…")
    expect(page.locator("#report-progress").get_by_role("button", name="Arrêter")).to_be_focused()
    assert stream.requests[0]["body"] == {
        "board_id": 10,
        "sprint_id": 1020,
        "audience": "team",
        "refresh": False,
        "language": "fr",
    }
    stream.send("log", {"step": "fetch", "message": "", "done": 4, "total": 11})
    progress = page.get_by_role("progressbar", name="Lecture de Jira : 4 tickets sur 11")
    expect(progress).to_have_attribute("value", "4")
    expect(progress).to_have_attribute("max", "11")
    stream.send("delta", {"section": "summary", "text": "Le sprint a tenu "})
    stream.send("delta", {"section": "summary", "text": "son objectif."})
    expect(page.locator("#report-provisional-title")).to_have_text("Récit (en cours d'écriture)")
    expect(page.locator("#report-result .stream-text")).to_have_text(
        "Le sprint a tenu son objectif."
    )
    assert_accessible(page, axe_source)

    page.locator("#report-progress").get_by_role("button", name="Arrêter").click()
    expect(page.locator("#report-progress-text")).to_have_text("Rapport arrêté.")
    assert stream.aborted == 1
    expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_enabled()


def test_an_epic_report_shows_its_children_and_progress(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    form = page.locator("#epic-report-form")
    form.get_by_label(EPIC_LABEL).fill("pay-10")

    form.get_by_label(EPIC_LABEL).press("Enter")
    title = report_ready(page)

    expect(title).to_contain_text("Rapport de l'épopée PAY-10 : ")
    expect(title.get_by_role("link", name="PAY-10", exact=True)).to_be_visible()
    report = page.locator("#report-result article.report")
    children = report.get_by_role("table", name="Enfants par statut")
    expect(children.get_by_role("row").nth(1)).to_be_visible()
    expect(report.get_by_role("figure", name="Avancement")).to_contain_text("Tickets terminés : ")
    expect(report.locator(".narrative")).not_to_be_empty()
    assert_accessible(page, axe_source)
    screenshot(page, "epic-report")


def test_copy_as_markdown_puts_the_report_on_the_clipboard(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    sprints_loaded(page)
    page.get_by_label("Sprint", exact=True).select_option(value="1020")
    generate(sprint_form(page))
    report_ready(page)
    said = record_live_region(page, "#reports-status")

    page.get_by_role("button", name="Copier en Markdown").click()

    expect(page.locator("#reports-status")).to_have_text(
        "Rapport copié dans le presse-papiers en Markdown."
    )
    markdown = page.evaluate("() => navigator.clipboard.readText()")
    lines = markdown.splitlines()
    assert lines[0] == "# Rapport du sprint PAY Sprint 20"
    assert "| Ensemble | Tickets | Points | Clés |" in lines
    committed = next(line for line in lines if line.startswith("| Engagé au démarrage |"))
    assert committed.split(" | ")[1] == str(len(SCENARIO.committed))
    assert "## Récit" in lines
    assert "## Ce qui a bien marché" in lines
    narrative = page.locator("#report-result .narrative").inner_text()
    assert narrative.split("\n")[0][:40] in markdown.replace("\\", "")
    assert said() == ["Rapport copié dans le presse-papiers en Markdown."]
    assert_accessible(page, axe_source)


def test_a_kanban_board_says_it_has_no_sprint(reports_page: Page, axe_source: str) -> None:
    page = reports_page
    page.get_by_label("Site Jira").select_option(GLOBEX)
    page.get_by_role("button", name="Changer de site").click()
    expect(page.get_by_label("Tableau", exact=True).locator("option")).to_have_count(2)

    page.get_by_label("Tableau", exact=True).select_option(label="OPS board (kanban)")

    note = page.locator("#sprint-note")
    expect(note).to_have_text(
        "Le tableau OPS board est un tableau kanban : il n'a pas de sprint. Choisissez un "
        "tableau scrum, ou faites le rapport d'une épopée."
    )
    expect(page.get_by_label("Sprint", exact=True)).to_be_disabled()
    expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_disabled()
    assert_accessible(page, axe_source)


def test_no_board_and_no_closed_sprint_are_said(reports_page: Page, axe_source: str) -> None:
    page = reports_page
    sprints_loaded(page)

    def only_future(body: dict[str, Any]) -> None:
        body["sprints"] = [s for s in body["sprints"] if s["state"] == "future"]

    edit_json_answers(page, "/jira/boards/10/sprints", only_future)
    page.get_by_label("Tableau", exact=True).select_option(label="MOB board (scrum)")
    sprints_loaded(page)
    page.get_by_label("Tableau", exact=True).select_option(label="PAY board (scrum)")
    expect(page.locator("#sprint-note")).to_have_text(
        "Aucun sprint en cours ou terminé sur ce tableau : un sprint à venir n'a pas encore de "
        "chiffres."
    )
    expect(page.get_by_label("Sprint", exact=True)).to_be_disabled()
    assert_accessible(page, axe_source)

    edit_json_answers(page, "/jira/boards", lambda body: body.update(boards=[]))
    page.reload()
    expect(page.locator("#board-note")).to_have_text("Aucun tableau Jira Software sur ce site.")
    expect(page.get_by_label("Tableau", exact=True)).to_be_disabled()
    expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_disabled()
    assert_accessible(page, axe_source)


def test_an_epic_key_not_found_and_an_issue_that_is_not_an_epic(
    reports_page: Page, axe_source: str
) -> None:
    page = reports_page
    form = page.locator("#epic-report-form")
    field = form.get_by_label(EPIC_LABEL)

    field.fill("PAY-999999")
    form.get_by_role("button", name="Générer le rapport").click()

    message = "Aucun ticket PAY-999999 sur ce site, ou vous n'y avez pas accès."
    expect(page.locator("#report-result .empty-state")).to_contain_text(message)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#epic-key-error")).to_have_text(message)
    assert_accessible(page, axe_source)

    field.fill("PAY-11")
    form.get_by_role("button", name="Générer le rapport").click()
    expect(page.locator("#report-error .error-box")).to_have_attribute("data-code", "invalid_input")
    expect(page.locator("#report-error")).to_contain_text("La demande n'est pas valide.")
    assert_accessible(page, axe_source)

    field.fill("")
    form.get_by_role("button", name="Générer le rapport").click()
    expect(page.locator("#epic-key-error")).to_have_text(
        "Saisissez la clé d'une épopée, par exemple PAY-10."
    )
    expect(field).to_be_focused()


def test_a_report_with_the_keyboard_only(reports_page: Page, axe_source: str) -> None:
    page = reports_page
    sprints_loaded(page)
    board = page.get_by_label("Tableau", exact=True)

    board.focus()
    page.keyboard.press("ArrowDown")  # MOB board: its sprints are loaded
    expect(page.get_by_label("Sprint", exact=True).locator("option").first).to_have_text(
        "MOB Sprint 21 (en cours)"
    )
    page.keyboard.press("Tab")
    expect(page.get_by_label("Sprint", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")  # MOB Sprint 20, closed
    page.keyboard.press("Tab")
    expect(page.locator("#sprint-audience")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the stakeholders
    page.keyboard.press("Tab")
    expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_focused()
    page.keyboard.press("Enter")

    title = report_ready(page)
    expect(title).to_have_text("Rapport du sprint MOB Sprint 20")
    expect(title).to_be_focused()
    expect(page.locator("#report-result .meta")).to_contain_text("Pour les parties prenantes")
    assert_accessible(page, axe_source)


def test_the_reports_in_english(reports_page: Page, axe_source: str) -> None:
    page = reports_page
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.get_by_label("Board", exact=True)).to_be_enabled()
    expect(page.get_by_label("Sprint", exact=True).locator("option").first).to_have_text(
        "PAY Sprint 21 (active)"
    )
    page.get_by_label("Sprint", exact=True).select_option(value="1020")

    sprint_form(page).get_by_role("button", name="Generate the report").click()

    title = report_ready(page)
    expect(title).to_have_text("Report of sprint PAY Sprint 20")
    facts = page.locator("#report-result table.facts")
    expect(facts.get_by_role("row", name=re.compile("^Committed at the start"))).to_be_visible()
    expect(page.get_by_role("heading", name="What went well", exact=True)).to_be_visible()
    assert_accessible(page, axe_source)


def test_a_grant_without_boards_and_sprints_offers_a_new_consent(
    browser: Browser, reports_api: ServerProcess, sandbox_url: str, axe_source: str
) -> None:
    from tests.support import sandbox

    sandbox.withhold_scopes(
        sandbox_url, ["read:board-scope:jira-software", "read:sprint:jira-software"]
    )
    _forget("jira:v1:*")  # the boards of an earlier test, cached, would not ask Jira
    context = _context(browser, reports_api.url)
    page = context.new_page()
    try:
        sign_in(page, ALICE)

        error = page.locator("#report-error .error-box")
        expect(error).to_have_attribute("data-code", "atlassian_reauth_required")
        expect(error.get_by_role("button", name="Autoriser à nouveau")).to_be_visible()
        expect(page.get_by_label("Tableau", exact=True)).to_be_disabled()
        expect(sprint_form(page).get_by_role("button", name="Générer le rapport")).to_be_disabled()
        assert_accessible(page, axe_source)
    finally:
        context.close()
