"""Jira and LLM text is rendered as text: the sandbox's `<script>` and injection issues run
nothing."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import PageEvents

SCRIPT_TEXT = "<script>alert(1)</script>"


def no_injected_markup(page: Page, selector: str) -> None:
    for tag in ("script", "b", "img", "iframe"):
        assert page.locator(f"{selector} {tag}").count() == 0, f"a <{tag}> was injected"


def test_script_issue_shows_as_text_in_the_sync_analysis(
    alice: Page, page_events: PageEvents
) -> None:
    page = alice
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-6")
    page.get_by_role("button", name="Analyser", exact=True).click()

    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse de PAY-6 terminée.", timeout=30_000
    )
    expect(page.locator("#analysis-result")).to_contain_text(SCRIPT_TEXT)
    no_injected_markup(page, "#analysis-result")
    assert page_events.dialogs == []


def test_script_and_injection_issues_show_as_text_when_streamed_and_summarized(
    alice: Page, page_events: PageEvents
) -> None:
    page = alice
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-6")
    page.get_by_role("button", name="Analyser en direct").click()
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse en direct de PAY-6 terminée.", timeout=60_000
    )
    expect(page.locator("#analysis-result")).to_contain_text(SCRIPT_TEXT)
    no_injected_markup(page, "#analysis-result")

    page.get_by_label("Requête JQL", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Résumer", exact=True).click()
    expect(page.locator("#summary-result .coverage")).to_have_text(
        "Analyse de 2 tickets sur 2", timeout=30_000
    )
    no_injected_markup(page, "#summary-result")
    assert page_events.dialogs == []
