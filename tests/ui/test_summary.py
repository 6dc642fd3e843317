"""Résumer une requête JQL: coverage line, cited issues linked to Jira, stats, cache, Régénérer."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, french_number, screenshot

JQL = "project = PAY ORDER BY updated DESC"


def test_summarize_shows_the_coverage_line_stats_and_links(alice: Page, axe_source: str) -> None:
    page = alice
    total = page.request.get("/jira/search", params={"jql": JQL, "limit": 1}).json()["total"]
    assert total > 100

    page.get_by_label("Requête JQL", exact=True).fill(JQL)
    page.get_by_role("button", name="Résumer", exact=True).click()

    result = page.locator("#summary-result")
    expect(result.locator(".coverage")).to_have_text(
        f"Analyse de 100 tickets sur {french_number(total)}", timeout=30_000
    )
    expect(page.locator("#summary-status")).to_contain_text("Résumé prêt.")
    expect(result).to_have_attribute("aria-busy", "false")
    for heading in ("Synthèse", "Points saillants", "Risques", "Blocages", "Prochaines étapes"):
        expect(result.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(result.get_by_role("table", name="Par statut")).to_be_visible()
    # Summaries stay cached in Redis between runs: this one may be either.
    expect(result.locator(".fresh, .cached")).to_have_text(
        re.compile(r"^(Généré le|Résultat en cache du) ")
    )
    link = result.locator("a.issue-key").first
    expect(link).to_have_attribute(
        "href", re.compile(r"^https://acme\.atlassian\.net/browse/PAY-\d+$")
    )
    assert_accessible(page, axe_source)
    screenshot(page, "summary")


def test_second_run_is_cached_and_regenerate_refreshes(alice: Page) -> None:
    page = alice
    page.get_by_label("Requête JQL", exact=True).fill("project = MOB AND statusCategory != Done")
    summarize = page.get_by_role("button", name="Résumer", exact=True)
    summarize.click()
    result = page.locator("#summary-result")
    expect(result.locator(".coverage")).to_be_visible(timeout=30_000)

    summarize.click()
    expect(result.locator(".cached")).to_contain_text("Résultat en cache", timeout=30_000)

    page.get_by_role("button", name="Régénérer").click()
    expect(result.locator(".fresh")).to_contain_text("Généré le", timeout=30_000)
    expect(page.get_by_role("heading", name="Résumé de la requête")).to_be_focused()


def test_example_buttons_fill_the_field_and_an_empty_query_is_explained(alice: Page) -> None:
    page = alice
    page.get_by_role("button", name="Résumer", exact=True).click()
    field = page.get_by_label("Requête JQL", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#jql-error")).to_have_text("Saisissez une requête JQL.")
    expect(field).to_be_focused()

    page.get_by_role("button", name="updated >= -7d ORDER BY updated DESC").click()
    expect(field).to_have_value("updated >= -7d ORDER BY updated DESC")
    expect(field).not_to_have_attribute("aria-invalid", "true")
