"""The "Projets PO" tabs (WAI-ARIA tabs, manual activation) and keyboard-only use of the page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot


def focused(page: Page, attribute: str) -> str | None:
    return page.evaluate(f"() => document.activeElement?.getAttribute({attribute!r})")


def tab_until(page: Page, predicate: str, limit: int = 40) -> None:
    """Press Tab until `predicate` (JS, over `el`) holds for the focused element."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({predicate}); }}"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def roving(page: Page) -> dict[str, str]:
    return dict(
        page.get_by_role("tab").evaluate_all(
            "(tabs) => tabs.map((t) => [t.id, `${t.getAttribute('aria-selected')}/${t.tabIndex}`])"
        )
    )


def test_tablist_follows_the_wai_aria_tabs_pattern(alice: Page) -> None:
    page = alice
    tablist = page.get_by_role("tablist", name="Projets PO")
    expect(tablist).to_be_visible()
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(3)  # acme: AB_C, MOB, PAY
    first, middle, last = tabs.nth(0), tabs.nth(1), tabs.nth(2)
    first_id, middle_id, last_id = (t.get_attribute("id") for t in (first, middle, last))
    for tab in (first, middle, last):
        panel = page.locator(f"#{tab.get_attribute('aria-controls')}")
        expect(panel).to_have_attribute("role", "tabpanel")
        expect(panel).to_have_attribute("aria-labelledby", str(tab.get_attribute("id")))
    expect(page.locator("#projects-status")).to_have_text(re.compile(r"^Projet .+ chargé\.$"))
    assert roving(page) == {first_id: "true/0", middle_id: "false/-1", last_id: "false/-1"}

    # Only the selected tab is in the tab order.
    tab_until(page, "el.getAttribute('role') === 'tab'")
    assert focused(page, "id") == first_id

    # Arrows move the focus (wrapping), without selecting: manual activation.
    page.keyboard.press("ArrowRight")
    assert focused(page, "id") == middle_id
    page.keyboard.press("ArrowRight")
    assert focused(page, "id") == last_id
    assert roving(page) == {first_id: "true/0", middle_id: "false/-1", last_id: "false/-1"}
    page.keyboard.press("ArrowRight")
    assert focused(page, "id") == first_id
    page.keyboard.press("ArrowLeft")
    assert focused(page, "id") == last_id
    page.keyboard.press("Home")
    assert focused(page, "id") == first_id
    page.keyboard.press("End")
    assert focused(page, "id") == last_id

    # Enter activates; the live region says it is loading, then loaded.
    page.keyboard.press("Enter")
    assert roving(page) == {first_id: "false/-1", middle_id: "false/-1", last_id: "true/0"}
    last_panel = page.locator(f"#{last.get_attribute('aria-controls')}")
    expect(last_panel).to_be_visible()
    expect(last_panel).to_contain_text("Mis à jour récemment")
    expect(page.locator(f"#{first.get_attribute('aria-controls')}")).to_be_hidden()
    expect(page.locator("#projects-status")).to_have_text(re.compile(r"^Projet .+ chargé\.$"))

    # Space activates too; Tab then leaves the tablist for the panel.
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    assert roving(page) == {first_id: "true/0", middle_id: "false/-1", last_id: "false/-1"}
    page.keyboard.press("Tab")
    assert focused(page, "role") == "tabpanel"
    assert focused(page, "aria-labelledby") == first_id


def test_each_tab_passes_axe(alice: Page, axe_source: str) -> None:
    page = alice
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(3)
    for index in range(tabs.count()):
        tabs.nth(index).click()
        panel = page.locator(f"#{tabs.nth(index).get_attribute('aria-controls')}")
        expect(panel).to_contain_text("Tickets ouverts par statut")
        expect(panel).to_have_attribute("aria-busy", "false")
        assert_accessible(page, axe_source)
        screenshot(page, f"projects-tab-{index + 1}")


def test_keyboard_only_summarize_a_project_then_analyze_an_issue(alice: Page) -> None:
    page = alice
    expect(page.get_by_role("tabpanel")).to_contain_text("Mis à jour récemment")
    first_key = page.get_by_role("tab").first.get_attribute("data-key")

    tab_until(page, "el.textContent.trim() === 'Résumer ce projet'")
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name="Résumé de la requête")
    expect(heading).to_be_focused(timeout=30_000)
    expect(page.locator("#jql")).to_have_value(f"project = {first_key}")
    expect(page.locator("#summary-result .coverage")).to_have_text(
        re.compile(r"^Analyse de \d+ tickets sur [\d\u202f]+$")
    )

    tab_until(page, "el.id === 'issue-key'")
    page.keyboard.type("PAY-1")
    page.keyboard.press("Enter")
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse de PAY-1 terminée.", timeout=30_000
    )
    expect(page.locator("#analysis-result")).to_contain_text("Critères d'acceptation")
