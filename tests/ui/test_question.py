"""« Poser une question » on the real API and sandbox: *Traduire en JQL* shows the JQL Jira
checked, its explanation and « ≈ N tickets » (N the sandbox's own search of that JQL, grouped as
Intl formats it), fills the summary's JQL field, and runs nothing: no summary request until the
user presses *Résumer*. With the keyboard only, in English, a blank question, a query Jira
refuses twice (Jira's message shown), and axe with no violation in each state."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.sandbox.atlassian_helpers import jira_for
from tests.support.browser import (
    PageEvents,
    assert_accessible,
    french_number,
    sign_in,
    workspace_ready,
)
from tests.support.ids import ALICE
from tests.support.servers import ServerFactory, ServerProcess
from tests.ui.conftest import _context, _forget

QUESTION = "Quels sont les bugs encore ouverts du projet PAY ?"


@pytest.fixture(scope="session")
def question_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="1000")


@pytest.fixture(scope="session")
def sloppy_question_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(OLLAMA_MODEL="sloppy", AI_USER_REQUESTS_PER_MINUTE="1000")


def _page(browser: Browser, api: ServerProcess, page_events: PageEvents) -> Iterator[Page]:
    _forget("jira:v1:*", "ai:summary:*", "aisum:*", "ai:run:*")
    context = _context(browser, api.url)
    page = context.new_page()
    page.on("dialog", page_events.on_dialog)
    page.on("pageerror", page_events.on_error)
    sign_in(page, ALICE)
    # The workspace's first reads (projects, boards, versions) render above and beside the form:
    # a click while they land can hit a shifting layout. Let them finish first.
    page.wait_for_load_state("networkidle")
    yield page
    context.close()
    assert page_events.dialogs == [], f"a dialog opened: {page_events.dialogs}"
    assert page_events.errors == [], f"uncaught errors in the page: {page_events.errors}"


@pytest.fixture
def question_page(
    browser: Browser, question_api: ServerProcess, sandbox_url: str, page_events: PageEvents
) -> Iterator[Page]:
    """Alice signed in after the sandbox's reset (which forgets its tokens)."""
    yield from _page(browser, question_api, page_events)


@pytest.fixture
def sloppy_page(
    browser: Browser, sloppy_question_api: ServerProcess, sandbox_url: str, page_events: PageEvents
) -> Iterator[Page]:
    yield from _page(browser, sloppy_question_api, page_events)


def count_of(sandbox_url: str, jql: str) -> int:
    response = jira_for(sandbox_url, ALICE).post("search/approximate-count", {"jql": jql})
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


def test_a_question_fills_the_jql_field_and_runs_nothing(
    question_page: Page, sandbox_url: str, axe_source: str
) -> None:
    page = question_page
    ai_calls: list[str] = []

    def record(request: Request) -> None:
        if "/ai/" in request.url:
            ai_calls.append(request.url.split("/ai/", 1)[1])

    page.on("request", record)
    question = page.get_by_label("Poser une question", exact=True)
    question.fill(QUESTION)
    page.get_by_role("button", name="Traduire en JQL").click()

    title = page.get_by_role("heading", name="Requête proposée")
    expect(title).to_be_visible(timeout=30_000)
    jql = page.locator("#question-jql").inner_text()
    assert re.search(r"\bPAY\b", jql)
    expect(page.locator("#jql")).to_have_value(jql)
    count = count_of(sandbox_url, jql)
    expect(page.locator("#question-count")).to_have_text(f"≈ {french_number(count)} tickets")
    expect(page.locator(".question-explanation")).not_to_be_empty()
    expect(page.locator("#question-status")).to_contain_text("Rien n'est lancé")
    assert_accessible(page, axe_source)
    # nothing ran but the translation
    assert ai_calls == ["jql-from-question"]
    expect(page.locator("#summary-result")).to_be_empty()

    page.get_by_role("button", name="Résumer", exact=True).click()
    expect(page.locator("#summary-status")).not_to_be_empty()
    assert any(call.startswith("summarize-jql") for call in ai_calls)


def test_with_the_keyboard_only(question_page: Page, axe_source: str) -> None:
    page = question_page
    page.locator("#question").focus()
    page.keyboard.type("Open epics of PAY")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Requête proposée")).to_be_visible(timeout=30_000)
    expect(page.locator("#jql")).not_to_have_value("")
    # the focus stayed where the user was, and the next control is the button
    expect(page.locator("#question")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Traduire en JQL")).to_be_focused()
    assert_accessible(page, axe_source)


def test_a_blank_question(question_page: Page, axe_source: str) -> None:
    page = question_page
    page.get_by_role("button", name="Traduire en JQL").click()
    error = page.locator("#question-field-error")
    expect(error).to_have_text("Saisissez une question.")
    expect(page.locator("#question")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#question")).to_be_focused()
    assert_accessible(page, axe_source)


def test_in_english(question_page: Page, sandbox_url: str, axe_source: str) -> None:
    page = question_page
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The page was reloaded in English: its module must run before the click (else the form
    # submits natively and the question is lost), and its first reads land.
    workspace_ready(page)
    page.wait_for_load_state("networkidle")
    page.get_by_label("Ask a question", exact=True).fill(
        "Which bugs are still open in project PAY?"
    )
    page.get_by_role("button", name="Translate to JQL").click()
    expect(page.get_by_role("heading", name="Proposed query")).to_be_visible(timeout=30_000)
    jql = page.locator("#question-jql").inner_text()
    count = count_of(sandbox_url, jql)
    expect(page.locator("#question-count")).to_have_text(f"≈ {count:,} issues")
    assert_accessible(page, axe_source)


def test_a_repaired_query_says_so(sloppy_page: Page, sandbox_url: str, axe_source: str) -> None:
    page = sloppy_page
    page.get_by_label("Poser une question", exact=True).fill(QUESTION)
    page.get_by_role("button", name="Traduire en JQL").click()
    expect(page.get_by_role("heading", name="Requête proposée")).to_be_visible(timeout=30_000)
    expect(page.locator(".question-repaired")).to_have_text("Corrigée après le contrôle de Jira.")
    expect(page.locator(".question-warnings li").first).to_contain_text("does not exist")
    jql = page.locator("#question-jql").inner_text()
    expect(page.locator("#jql")).to_have_value(jql)
    count = count_of(sandbox_url, jql)
    expect(page.locator("#question-count")).to_have_text(f"≈ {french_number(count)} tickets")
    assert_accessible(page, axe_source)


def test_a_query_jira_refuses_shows_jiras_message(
    question_page: Page, sandbox_url: str, axe_source: str
) -> None:
    page = question_page
    response = jira_for(sandbox_url, ALICE).post(
        "search/approximate-count", {"jql": 'project = PAY AND text ~ "??"'}
    )
    [jira_words] = response.json()["errorMessages"]
    page.get_by_label("Poser une question", exact=True).fill("Les tickets de PAY contenant « ?? »")
    page.get_by_role("button", name="Traduire en JQL").click()
    box = page.locator("#question-error .error-box")
    expect(box).to_have_attribute("data-code", "invalid_jql", timeout=30_000)
    expect(box.locator(".error-message")).to_contain_text("La requête JQL est refusée par Jira.")
    expect(box.locator(".error-detail")).to_have_text(f"Invalid JQL: {jira_words}")
    expect(page.locator("#question-status")).to_contain_text("refusée par Jira")
    expect(page.locator("#jql")).to_have_value("")
    expect(page.locator("#question-result")).to_be_empty()
    assert_accessible(page, axe_source)
