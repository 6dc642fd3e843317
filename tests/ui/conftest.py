"""Browser tests of the web UI: Debian's Chromium driven by Playwright (never a downloaded
browser), against the API under Daphne and the sandbox as Atlassian and the LLM.

One browser per test session; one fresh context (cookies) per test, signed in through the
sandbox's real consent page. axe-core comes from node_modules (``make node-deps``, ``npm ci``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from redis import Redis

from tests.support.browser import AXE_PATH, CHROMIUM, CHROMIUM_ARGS, PageEvents, sign_in
from tests.support.ids import ALICE
from tests.support.peers import missing_peer
from tests.support.servers import ServerFactory, ServerProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_driver(api_env: dict[str, str]) -> Iterator[Playwright]:
    """Started after the test database exists (``api_env``): sync Playwright runs an event loop
    in this thread, and Django refuses database set-up from a thread with a running loop."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        missing_peer("Chromium", "run `make system-deps` (apt-get install chromium)")
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_PATH.exists():
        missing_peer("axe-core", "run `make node-deps` (npm ci)")
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture
def ui(api_server: ServerProcess, sandbox_url: str) -> dict[str, str]:
    """The API's and the (freshly reset) sandbox's URLs."""
    return {"api": api_server.url, "sandbox": sandbox_url}


def _context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url,
        locale="fr-FR",
        viewport={"width": 1280, "height": 900},
        reduced_motion="reduce",
    )
    # Avatars point at Atlassian's CDN: no test may reach the network.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser, ui: dict[str, str]) -> Iterator[BrowserContext]:
    context = _context(browser, ui["api"])
    yield context
    context.close()


@pytest.fixture(scope="session")
def chunked_api(server_factory: ServerFactory) -> ServerProcess:
    """The API with a model of a 2,000-token context: a summary of 100 issues is several map
    chunks (a stock Ollama's long work, in seconds)."""
    return server_factory.api(LLM_CONTEXT_TOKENS="2000", AI_USER_REQUESTS_PER_MINUTE="1000")


def _forget(*patterns: str) -> None:
    from django.conf import settings

    redis = Redis.from_url(settings.REDIS_URL)
    for pattern in patterns:
        keys = list(redis.scan_iter(match=pattern, count=1000))
        if keys:
            redis.delete(*keys)
    redis.close()


@pytest.fixture(scope="session", autouse=True)
def no_run_left(api_env: dict[str, str]) -> None:
    """No streamed run left in Redis by an earlier session: one whose process was stopped
    mid-way would be followed by an identical request, and never end."""
    _forget("ai:run:*")


@pytest.fixture
def no_summary_kept() -> None:
    """No Jira search, summary or map chunk left in Redis by an earlier test: a fresh run."""
    _forget("jira:v1:*", "aisum:*", "ai:summary:*", "ai:run:*")


@pytest.fixture
def chunked_alice(
    browser: Browser, chunked_api: ServerProcess, sandbox_url: str, page_events: PageEvents
) -> Iterator[Page]:
    """Alice signed in on ``chunked_api``."""
    context = _context(browser, chunked_api.url)
    page = context.new_page()
    page.on("dialog", page_events.on_dialog)
    page.on("pageerror", page_events.on_error)
    sign_in(page, ALICE)
    yield page
    context.close()
    assert page_events.dialogs == [], f"a dialog opened: {page_events.dialogs}"
    assert page_events.errors == [], f"uncaught errors in the page: {page_events.errors}"


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


@pytest.fixture
def alice(page: Page) -> Page:
    """A page signed in as Alice (sites acme and globex), on the workspace."""
    sign_in(page, ALICE)
    return page
