"""Sign-in page, the consent flow through the sandbox, sign-out, and the pages' accessibility."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot, sign_in
from tests.support.ids import ALICE


def test_workspace_without_session_redirects_to_the_sign_in_page(page: Page) -> None:
    page.goto("/ui")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Se connecter avec Atlassian")).to_be_visible()


def test_sign_in_page_is_accessible_in_french(page: Page, axe_source: str) -> None:
    page.goto("/login")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title(re.compile(r"jira-ai"))
    expect(page.get_by_role("main")).to_be_visible()
    assert_accessible(page, axe_source)
    screenshot(page, "sign-in")


def test_sign_in_through_the_consent_page_opens_the_workspace(page: Page) -> None:
    sign_in(page, ALICE)

    expect(page.get_by_role("banner")).to_contain_text("Alice Martin")
    expect(page.get_by_label("Site Jira")).to_have_value(re.compile(r".+"))
    expect(page.get_by_role("tab").first).to_be_visible()


def test_sign_out_ends_the_session(alice: Page) -> None:
    alice.get_by_role("button", name="Se déconnecter").click()
    alice.wait_for_load_state()

    alice.goto("/ui")
    expect(alice).to_have_url(re.compile(r"/login$"))
    assert alice.request.get("/me").status == 401
