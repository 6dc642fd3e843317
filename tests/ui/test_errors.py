"""Errors in words, with what to do; the error states pass axe."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support import sandbox
from tests.support.browser import assert_accessible, screenshot


def test_unknown_issue_says_what_to_do_and_passes_axe(alice: Page, axe_source: str) -> None:
    page = alice
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-99999")
    page.get_by_role("button", name="Analyser", exact=True).click()

    error = page.locator("#analysis-error .error-box")
    expect(error).to_have_attribute("data-code", "issue_not_found", timeout=30_000)
    expect(error).to_contain_text("Ce ticket est introuvable ou vous n'y avez pas accès.")
    expect(error).to_contain_text("Vérifiez la clé et le site Jira choisi.")
    expect(page.locator("#analysis-status")).to_contain_text("Erreur")
    assert_accessible(page, axe_source)
    screenshot(page, "error-state")


def test_llm_outage_in_a_stream_is_an_error_event_in_words(alice: Page, ui: dict[str, str]) -> None:
    page = alice
    sandbox.add_fault(ui["sandbox"], "llm", mode="status", status=503)
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-5")
    page.get_by_role("button", name="Analyser en direct").click()

    error = page.locator("#analysis-error .error-box")
    expect(error).to_contain_text(
        "Le service d'IA est indisponible pour le moment.", timeout=60_000
    )
    expect(error).to_contain_text("Réessayez dans quelques minutes.")
    expect(page.locator("#analysis-result")).to_have_attribute("aria-busy", "false")


def test_invalid_key_is_explained_next_to_the_field(alice: Page) -> None:
    page = alice
    field = page.get_by_label("Clé du ticket", exact=True)
    field.fill("pas une clé")
    page.get_by_role("button", name="Analyser", exact=True).click()

    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator("#issue-key-error")).to_contain_text("n'est pas une clé de ticket")


def test_expired_session_asks_to_sign_in_again(alice: Page) -> None:
    page = alice
    page.context.clear_cookies()
    page.get_by_label("Requête JQL", exact=True).fill("project = PAY")
    page.get_by_role("button", name="Résumer", exact=True).click()

    error = page.locator("#summary-error .error-box")
    expect(error).to_contain_text("Reconnectez-vous pour continuer.")
    expect(error.get_by_role("link", name="Se reconnecter")).to_have_attribute("href", "/login")


def test_the_apis_english_validation_detail_is_marked_english(alice: Page, axe_source: str) -> None:
    page = alice
    page.get_by_label("Requête JQL", exact=True).fill("project = PAY AND " + "x" * 4_000)
    page.get_by_role("button", name="Résumer", exact=True).click()

    error = page.locator("#summary-error .error-box")
    expect(error).to_have_attribute("data-code", "invalid_input", timeout=30_000)
    expect(error.locator(".error-message")).to_have_text("Erreur : La demande n'est pas valide.")
    expect(error.locator(".error-detail")).to_have_attribute("lang", "en")
    expect(error.locator(".error-detail")).not_to_be_empty()
    assert_accessible(page, axe_source)
