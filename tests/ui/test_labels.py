"""The page's words for what the engine sends as a wire value: its stats' ``(none)`` (a missing
assignee, priority, type or status) shown as French on the French page, English on the English."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, edit_summary_result, workspace_ready

# PAY has unassigned issues among its 100 most recently updated (the sandbox's seeded data).
UNASSIGNED_JQL = "project = PAY ORDER BY updated DESC"


def none_everywhere(body: dict[str, Any]) -> None:
    for breakdown in ("by_status", "by_priority", "by_assignee", "by_type"):
        body["stats"][breakdown] = {**body["stats"][breakdown], "(none)": 1}


def row_headers(page: Page, table: str) -> list[str]:
    return (
        page.locator("#summary-result")
        .get_by_role("table", name=table)
        .locator("tbody th")
        .all_inner_texts()
    )


def test_the_real_summarys_unassigned_issues_read_non_assigne(alice: Page, axe_source: str) -> None:
    page = alice
    page.get_by_label("Requête JQL", exact=True).fill(UNASSIGNED_JQL)
    page.get_by_role("button", name="Résumer", exact=True).click()

    result = page.locator("#summary-result")
    assignees = result.get_by_role("table", name="Par responsable")
    expect(assignees.get_by_role("rowheader", name="Non assigné", exact=True)).to_be_visible(
        timeout=30_000
    )
    expect(result).not_to_contain_text("(none)")
    assert_accessible(page, axe_source)


def test_none_in_each_breakdown_in_french(alice: Page) -> None:
    page = alice
    edit_summary_result(page, none_everywhere)
    page.get_by_label("Requête JQL", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Résumer", exact=True).click()

    expect(page.locator("#summary-result .coverage")).to_be_visible(timeout=30_000)
    assert "(aucun)" in row_headers(page, "Par statut")
    assert "(aucune)" in row_headers(page, "Par priorité")
    assert "Non assigné" in row_headers(page, "Par responsable")
    assert "(aucun)" in row_headers(page, "Par type")
    expect(page.locator("#summary-result")).not_to_contain_text("(none)")


def test_none_in_each_breakdown_in_english(alice: Page) -> None:
    page = alice
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    workspace_ready(page)
    edit_summary_result(page, none_everywhere)
    page.get_by_label("JQL query", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Summarize", exact=True).click()

    expect(page.locator("#summary-result .coverage")).to_be_visible(timeout=30_000)
    assert "(none)" in row_headers(page, "By status")
    assert "(none)" in row_headers(page, "By priority")
    assert "Unassigned" in row_headers(page, "By assignee")
    assert "(none)" in row_headers(page, "By type")
    expect(page.locator("#summary-result")).not_to_contain_text("Non assigné")
