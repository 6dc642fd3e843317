"""Jira and LLM text is rendered as text: the sandbox's `<script>` and injection issues run
nothing, and an answer's URL or anchor markup is never made a link."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import (
    PageEvents,
    edit_json_answers,
    edit_stream_events,
    edit_summary_result,
)

SCRIPT_TEXT = "<script>alert(1)</script>"
# No issue key in it: any <a> in its paragraph would come from the text itself.
LINK_TEXT = 'Voir https://evil.example et <a href="https://evil.example/x">ce lien</a>.'


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


def no_link_from_the_text(page: Page, selector: str) -> None:
    text = page.locator(selector)
    expect(text).to_have_text(LINK_TEXT)
    expect(text.locator("a")).to_have_count(0)
    expect(page.locator("a[href*='evil']")).to_have_count(0)


def test_an_answers_url_and_anchor_show_as_plain_text(alice: Page) -> None:
    page = alice

    def summary(body: dict[str, Any]) -> None:
        body["summary"] = LINK_TEXT
        body["highlights"] = [{"text": LINK_TEXT, "issue_key": None}]

    def analysis(body: dict[str, Any]) -> None:
        body["summary"] = LINK_TEXT
        body["status_assessment"] = LINK_TEXT

    edit_summary_result(page, summary)
    edit_json_answers(page, "/ai/analyze-issue", analysis)

    page.get_by_label("Requête JQL", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Résumer", exact=True).click()
    expect(page.locator("#summary-result .coverage")).to_be_visible(timeout=30_000)
    no_link_from_the_text(page, "#summary-result .narrative")
    no_link_from_the_text(page, "#summary-result .items li >> nth=0")

    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser", exact=True).click()
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse de PAY-3 terminée.", timeout=30_000
    )
    no_link_from_the_text(page, "#analysis-result .narrative")


def test_a_streamed_url_and_anchor_show_as_plain_text(alice: Page) -> None:
    page = alice

    def edit(name: str, data: dict[str, Any]) -> dict[str, Any]:
        if name == "delta" and data.get("section") == "synthesis":
            return {**data, "text": ""}
        if name == "result" and data.get("section") == "synthesis":
            return {**data, "content": LINK_TEXT}
        return data

    edit_stream_events(page, "/ai/analyze-issue/stream", edit)
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser en direct").click()
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse en direct de PAY-3 terminée.", timeout=60_000
    )
    no_link_from_the_text(page, "#analysis-result [data-section=synthesis] .stream-text")
