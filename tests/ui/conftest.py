"""Browser tests of the web UI: Debian's Chromium driven by Playwright (never a downloaded
browser), against the API under Daphne and the sandbox as Atlassian and the LLM.

One browser per test session; one fresh context (cookies) per test, signed in through the
sandbox's real consent page. axe-core comes from node_modules (``make node-deps``, ``npm ci``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Error,
    Page,
    Playwright,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.servers import ROOT, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ALICE = "712020:alice-0001"
BRUNO = "712020:bruno-0002"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)


def _missing(what: str, how: str) -> None:
    # A missing browser is an error, never a skip (make test installs it).
    pytest.fail(f"{what} is missing: {how}")


@pytest.fixture(scope="session")
def playwright_driver(api_env: dict[str, str]) -> Iterator[Playwright]:
    """Started after the test database exists (``api_env``): sync Playwright runs an event loop
    in this thread, and Django refuses database set-up from a thread with a running loop."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing("Chromium", "run `make system-deps` (apt-get install chromium)")
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_PATH.exists():
        _missing("axe-core", "run `make node-deps` (npm ci)")
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture
def ui(api_server: ServerProcess, sandbox_url: str) -> dict[str, str]:
    """The API's and the (freshly reset) sandbox's URLs."""
    return {"api": api_server.url, "sandbox": sandbox_url}


@pytest.fixture
def context(browser: Browser, ui: dict[str, str]) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=ui["api"],
        locale="fr-FR",
        viewport={"width": 1280, "height": 900},
        reduced_motion="reduce",
    )
    # Avatars point at Atlassian's CDN: no test may reach the network.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    context.set_default_timeout(10_000)
    yield context
    context.close()


@dataclass
class PageEvents:
    """What the page did on its own: dialogs (alert/confirm: a script ran) and uncaught errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_error(self, error: Error) -> None:
        self.errors.append(str(error))


@pytest.fixture
def page_events() -> PageEvents:
    return PageEvents()


@pytest.fixture
def page(context: BrowserContext, page_events: PageEvents) -> Iterator[Page]:
    page = context.new_page()
    page.on("dialog", page_events.on_dialog)
    page.on("pageerror", page_events.on_error)
    yield page
    assert page_events.dialogs == [], f"a dialog opened: {page_events.dialogs}"
    assert page_events.errors == [], f"uncaught errors in the page: {page_events.errors}"


def sign_in(page: Page, account_id: str = ALICE) -> None:
    """The real flow: sign-in page -> POST /login -> sandbox consent page -> callback -> /ui."""
    page.goto("/login")
    page.get_by_role("button", name="Se connecter avec Atlassian").click()
    choice = page.locator(f"input[name=account_id][value='{account_id}']")
    try:
        choice.wait_for(timeout=10_000)
    except PlaywrightTimeoutError:
        text = page.locator("body").inner_text()[:1500]
        raise AssertionError(f"no consent page at {page.url}:\n{text}") from None
    choice.check()
    page.get_by_role("button", name="Accepter").click()
    page.wait_for_url(re.compile(r"/ui$"))


@pytest.fixture
def alice(page: Page) -> Page:
    """A page signed in as Alice (sites acme and globex), on the workspace."""
    sign_in(page, ALICE)
    return page


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """WCAG 2.0/2.1 A and AA violations, each with the failing nodes (axe injected by evaluate:
    the CSP's script-src 'self' would refuse a script tag)."""
    page.evaluate(axe_source)
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }""",
        WCAG_TAGS,
    )


def assert_accessible(page: Page, axe_source: str) -> None:
    violations = axe_violations(page, axe_source)
    assert violations == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in violations
    )


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sandbox_post(sandbox_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(sandbox_url + path, json=body, timeout=5)
    response.raise_for_status()
    return response.json() if response.content else {}


def sandbox_stats(sandbox_url: str) -> dict[str, Any]:
    response = httpx.get(sandbox_url + "/_sandbox/stats", timeout=5)
    response.raise_for_status()
    return response.json()


def french_number(value: int) -> str:
    """How Intl.NumberFormat("fr") groups thousands: a narrow no-break space (U+202F)."""
    return f"{value:,}".replace(",", "\u202f")
