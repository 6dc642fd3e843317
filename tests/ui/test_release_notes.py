"""*Notes de version* in the *Rapports* section, on the real API and sandbox: the project and
version pickers (the latest released version chosen), the notes streamed then shown with their
sections, items whose keys link to Jira, the coverage line and the omitted issues with their
reason (all compared with the sandbox's dataset), *Copier en Markdown* (the answer's own
``markdown``), the empty version, English, and axe with no violation in each state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from sandbox.atlassian.data import ALICE as ALICE_ACCOUNT
from sandbox.atlassian.data import Dataset
from tests.support.browser import (
    PageEvents,
    assert_accessible,
    record_live_region,
    screenshot,
    sign_in,
)
from tests.support.ids import ACME, ACME_URL, ALICE
from tests.support.servers import ServerFactory, ServerProcess
from tests.ui.conftest import _context, _forget

DATA = Dataset(42)
SEEDS = DATA.release_seeds


def _version_keys(name: str) -> list[str]:
    version = next(v for v in DATA.versions["PAY"] if v.name == name)
    return [i.key for i in DATA.by_project["PAY"] if version in i.fix_versions]


@pytest.fixture(scope="session")
def notes_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="1000")


@pytest.fixture
def notes_page(
    browser: Browser, notes_api: ServerProcess, sandbox_url: str, page_events: PageEvents
) -> Iterator[Page]:
    """Alice signed in on ``notes_api`` at a fast model pace, with no release notes nor Jira
    answer left in Redis by an earlier test."""
    from tests.support import sandbox

    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    _forget("jira:v1:*", "ai:release_notes:*")
    context = _context(browser, notes_api.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=notes_api.url)
    page = context.new_page()
    page.on("dialog", page_events.on_dialog)
    page.on("pageerror", page_events.on_error)
    sign_in(page, ALICE)
    yield page
    context.close()
    assert page_events.dialogs == [], f"a dialog opened: {page_events.dialogs}"
    assert page_events.errors == [], f"uncaught errors in the page: {page_events.errors}"


def form(page: Page) -> Any:
    return page.locator("#notes-form")


def versions_loaded(page: Page, project: str = "PAY") -> None:
    """The project picked (the picker lists the site's projects by key) and its versions read."""
    expect(form(page).get_by_label("Version", exact=True)).to_be_enabled()
    picker = form(page).locator("#notes-project")
    if picker.input_value() != project:
        picker.select_option(project)
        expect(form(page).get_by_label("Version", exact=True)).to_be_enabled()


def notes_ready(page: Page) -> Any:
    title = page.locator("#notes-result-title")
    expect(title).to_be_visible(timeout=60_000)
    expect(page.locator("#notes-progress")).to_be_hidden(timeout=60_000)
    return title


def test_the_pickers_list_the_projects_and_choose_the_latest_released_version(
    notes_page: Page, axe_source: str
) -> None:
    page = notes_page
    expect(form(page).get_by_label("Version", exact=True)).to_be_enabled()
    projects = form(page).get_by_label("Projet", exact=True).locator("option")
    visible = sorted(DATA.visible_projects(ALICE_ACCOUNT, ACME), key=lambda p: p.key)
    assert projects.all_inner_texts() == [f"{p.name} ({p.key})" for p in visible]
    versions_loaded(page)

    picker = form(page).get_by_label("Version", exact=True)
    names = [v.name for v in DATA.versions["PAY"]]
    assert picker.locator("option").evaluate_all("os => os.map(o => o.value)") == names
    expect(picker).to_have_value(SEEDS.released)
    texts = picker.locator("option").all_inner_texts()
    assert texts[0] == "1.0 (archivée)"
    assert re.fullmatch(rf"{re.escape(SEEDS.released)} \(livrée le .+\)", texts[7])
    assert texts[names.index(SEEDS.upcoming_version)] == f"{SEEDS.upcoming_version} (à venir)"
    expect(form(page).get_by_label("Projet", exact=True)).to_have_value("PAY")
    expect(form(page).get_by_role("button", name="Générer les notes de version")).to_be_enabled()
    assert_accessible(page, axe_source)


def test_release_notes_are_streamed_then_shown_with_every_issue_accounted_for(
    notes_page: Page, axe_source: str
) -> None:
    page = notes_page
    versions_loaded(page)
    said = record_live_region(page, "#notes-status")
    keys = _version_keys(SEEDS.released)

    form(page).get_by_role("button", name="Générer les notes de version").click()
    title = notes_ready(page)

    expect(title).to_have_text(f"Notes de version : PAY {SEEDS.released}")
    expect(title).to_be_focused()
    result = page.locator("#notes-result")
    items = result.locator(".notes-section li")
    omitted = result.locator(".notes-omitted li")
    in_notes = items.count()
    assert in_notes + omitted.count() == len(keys)
    cited = items.evaluate_all("ls => ls.map(l => l.dataset.key)") + omitted.evaluate_all(
        "ls => ls.map(l => l.dataset.key)"
    )
    assert sorted(cited) == sorted(keys)
    expect(result.locator("#notes-coverage")).to_have_text(
        f"{len(keys)} tickets, {in_notes} dans les notes, {len(keys) - in_notes} écartés"
    )
    first = items.first.get_by_role("link")
    key = items.first.get_attribute("data-key")
    expect(first).to_have_attribute("href", f"{ACME_URL}/browse/{key}")
    internal = result.locator(f".notes-omitted li[data-key='{SEEDS.internal}']")
    expect(internal).to_have_text(f"{SEEDS.internal} : interne")
    assert said()[0] == "Notes de version en cours…"
    assert said()[-1].startswith("Notes de version prêtes. ")
    assert_accessible(page, axe_source)
    screenshot(page, "release-notes")

    result.get_by_role("button", name="Copier en Markdown").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("# ")
    assert said()[-1] == "Notes de version copiées dans le presse-papiers en Markdown."


def test_the_empty_version_says_there_is_nothing_to_announce_in_english(
    notes_page: Page, axe_source: str
) -> None:
    page = notes_page
    page.get_by_role("button", name="English").click()
    versions_loaded(page)
    form(page).get_by_label("Version", exact=True).select_option(SEEDS.empty_version)

    form(page).get_by_role("button", name="Generate the release notes").click()
    title = notes_ready(page)

    expect(title).to_have_text(f"Release notes: PAY {SEEDS.empty_version}")
    result = page.locator("#notes-result")
    expect(result.locator("[data-state=notes-empty]")).to_have_text(
        "No issue in this version: nothing to announce."
    )
    expect(result.locator("#notes-coverage")).to_have_text("0 issues, 0 in the notes, 0 left out")
    assert_accessible(page, axe_source)
