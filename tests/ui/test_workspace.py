"""The workspace shell: landmarks, header, site switch, language switch, accessibility."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot


def tab_names(page: Page) -> list[str]:
    return [name.strip() for name in page.get_by_role("tab").all_inner_texts()]


def test_workspace_has_landmarks_skip_link_and_passes_axe(alice: Page, axe_source: str) -> None:
    page = alice
    expect(page.get_by_role("tabpanel")).to_contain_text("Mis à jour récemment")

    expect(page).to_have_title("Espace de travail — jira-ai")
    for role in ("banner", "navigation", "main", "contentinfo"):
        expect(page.get_by_role(role)).to_have_count(1)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu principal")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert_accessible(page, axe_source)
    screenshot(page, "workspace")


def test_site_switch_reloads_the_projects_of_the_chosen_site(alice: Page) -> None:
    page = alice
    expect(page.get_by_role("tab")).to_have_count(3)  # acme, the default site
    assert sorted(tab_names(page)) == ["AB_C Analytics Core", "MOB Mobile App", "PAY Paiements"]
    picker = page.get_by_label("Site Jira")
    other = next(
        value
        for value in picker.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
        if value != picker.input_value()
    )
    picker.select_option(other)
    page.get_by_role("button", name="Changer de site").click()

    expect(page.locator("#site-status")).to_have_text("Site Jira actif : globex.")
    expect(page.get_by_role("tab", name="OPS Opérations")).to_be_visible()
    assert sorted(tab_names(page)) == ["DATA Data Platform", "OPS Opérations"]
    expect(page.get_by_role("tabpanel")).to_contain_text("Mis à jour récemment")
    assert page.request.get("/me").json()["current_cloud_id"] == other


def test_language_switch_to_english_and_back(alice: Page, axe_source: str) -> None:
    page = alice
    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workspace")
    expect(page.get_by_role("button", name="Analyze live")).to_be_visible()
    expect(page.get_by_role("tabpanel")).to_contain_text("Recently updated")
    assert_accessible(page, axe_source)

    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(re.compile(r"/ui$"))
