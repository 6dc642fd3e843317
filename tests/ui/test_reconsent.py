"""``atlassian_reauth_required`` in the page: the message names the site, and its button (a form
POST to /login with the CSRF token, as the sign-in page) brings the user back on that site."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot, workspace_ready
from tests.support.ids import ALICE, GLOBEX


def _sandbox(url: str, path: str, body: dict[str, str]) -> None:
    httpx.post(url + path, json=body, timeout=5).raise_for_status()


def test_a_revoked_grant_offers_a_consent_for_the_site_and_it_brings_her_back(
    alice: Page, ui: dict[str, str], axe_source: str
) -> None:
    page = alice
    picker = page.get_by_label("Site Jira")
    picker.select_option(GLOBEX)
    page.get_by_role("button", name="Changer de site").click()
    expect(page.locator("#site-status")).to_have_text("Site Jira actif : globex.")
    # Given Atlassian revoked Alice's grant: her token is refused and so is its refresh
    _sandbox(ui["sandbox"], "/_sandbox/tokens/revoke", {"account_id": ALICE})
    _sandbox(ui["sandbox"], "/_sandbox/tokens/expire", {"account_id": ALICE})

    # When she asks for a summary
    page.get_by_label("Requête JQL", exact=True).fill("project = OPS")
    page.get_by_role("button", name="Résumer", exact=True).click()

    # Then the error names the site, and offers a button that consents again
    error = page.locator("#summary-error .error-box")
    expect(error).to_have_attribute("data-code", "atlassian_reauth_required", timeout=30_000)
    expect(error).to_contain_text(
        "Votre autorisation Atlassian pour le site globex est à renouveler"
    )
    expect(error).to_contain_text("Donnez à nouveau votre accord sur la page d'Atlassian.")
    form = error.locator("form[action='/login'][method='post']")
    expect(form.locator("input[name=cloud_id]")).to_have_value(GLOBEX)
    expect(form.locator("input[name=csrfmiddlewaretoken]")).not_to_have_value("")
    expect(error.get_by_role("button", name="Autoriser à nouveau")).to_be_visible()
    assert_accessible(page, axe_source)
    screenshot(page, "reauth-required")

    # And a reload says so at once, at the top, the site marked in the picker
    page.reload()
    workspace_ready(page)
    notice = page.locator("#global-error .error-box")
    expect(notice).to_have_attribute("data-code", "atlassian_reauth_required")
    expect(notice).to_contain_text("pour le site globex est à renouveler")
    expect(picker.locator("option:checked")).to_have_text("globex (autorisation à renouveler)")
    button = notice.get_by_role("button", name="Autoriser à nouveau")
    assert_accessible(page, axe_source)

    # When she presses it (from the keyboard) and consents on Atlassian's page
    button.focus()
    page.keyboard.press("Enter")
    page.locator(f"input[name=account_id][value='{ALICE}']").check()
    page.get_by_role("button", name="Accepter").click()

    # Then she is back on the workspace, on that site, and nothing asks for a consent
    page.wait_for_url(re.compile(r"/ui$"))
    workspace_ready(page)
    me = page.request.get("/me").json()
    assert me["current_cloud_id"] == GLOBEX
    assert [s["needs_reauth"] for s in me["sites"]] == [False, False]
    expect(page.get_by_role("tab", name="OPS Opérations")).to_be_visible()
    expect(picker.locator("option")).to_have_text(["acme", "globex"])
    expect(page.locator("#global-error .error-box")).to_have_count(0)


def test_the_consent_message_in_english(alice: Page, ui: dict[str, str], axe_source: str) -> None:
    page = alice
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _sandbox(ui["sandbox"], "/_sandbox/tokens/revoke", {"account_id": ALICE})
    _sandbox(ui["sandbox"], "/_sandbox/tokens/expire", {"account_id": ALICE})

    page.get_by_label("JQL query", exact=True).fill("project = PAY")
    page.get_by_role("button", name="Summarize", exact=True).click()

    error = page.locator("#summary-error .error-box")
    expect(error).to_have_attribute("data-code", "atlassian_reauth_required", timeout=30_000)
    expect(error).to_contain_text(
        "Your Atlassian authorization for the site acme needs renewing: it expired, was revoked "
        "or does not cover boards and sprints (Jira Software) yet."
    )
    expect(error.get_by_role("button", name="Authorize again")).to_be_visible()
    assert_accessible(page, axe_source)
