"""The browser suites' helpers: Debian's Chromium (never a downloaded browser), the real sign-in
through the sandbox's consent page, what a page did on its own, axe-core's WCAG checks,
screenshots, and answers of the API edited on their way to the page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Dialog, Error, Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.ids import ALICE
from tests.support.servers import ROOT

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
    workspace_ready(page)


def workspace_ready(page: Page) -> None:
    """The workspace's module ran (its forms have their handlers: a click before would submit
    the form natively): it has shown who is signed in."""
    page.wait_for_function(
        "() => document.getElementById('user-initials')?.textContent.trim() !== ''"
    )


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


def french_number(value: int) -> str:
    """How Intl.NumberFormat("fr") groups thousands: a narrow no-break space (U+202F)."""
    return f"{value:,}".replace(",", "\u202f")


def edit_json_answers(page: Page, path: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """The real API's JSON answers to ``path``, changed in place by ``edit`` before the page
    reads them: a state the engine cannot be made to produce yet (a guard that fired), on a
    response that is otherwise the server's own."""

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        edit(body)
        route.fulfill(response=response, json=body)

    page.route(f"**{path}", handle)


SUMMARY_STREAM = "/ai/summarize-jql/stream"


def edit_stream_events(
    page: Page, path: str, edit: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> None:
    """The real API's event stream at ``path``, read whole, each event's JSON data replaced by
    ``edit(name, data)`` (ids and order kept) before the page reads it."""

    def handle(route: Route) -> None:
        response = route.fetch(timeout=60_000)
        text = response.text()
        frames = []
        for frame in text.split("\n\n"):
            if not frame.strip():
                continue
            lines = frame.split("\n")
            name = next(
                (line[len("event: ") :] for line in lines if line.startswith("event: ")), ""
            )
            edited = [
                "data: " + json.dumps(edit(name, json.loads(line[len("data: ") :])))
                if line.startswith("data: ")
                else line
                for line in lines
            ]
            frames.append("\n".join(edited))
        route.fulfill(
            response=response,
            content_type="text/event-stream",
            body="".join(f"{frame}\n\n" for frame in frames),
        )

    page.route(f"**{path}", handle)


def edit_summary_result(page: Page, edit: Callable[[dict[str, Any]], None]) -> None:
    """The real streamed summary, its ``result`` (the whole summary JSON) changed in place by
    ``edit`` before the page reads it."""

    def edit_event(name: str, data: dict[str, Any]) -> dict[str, Any]:
        if name == "result":
            edit(data["content"])
        return data

    edit_stream_events(page, SUMMARY_STREAM, edit_event)


_CONTROLLED_FETCH = """(path) => {
    const real = window.fetch.bind(window);
    const state = { requests: [], streams: [], aborted: 0 };
    window.__controlled = state;
    window.fetch = (input, init = {}) => {
        const url = new URL(typeof input === "string" ? input : input.url, location.href);
        if (url.pathname !== path) return real(input, init);
        state.requests.push({ body: JSON.parse(init.body ?? "null"), headers: init.headers ?? {} });
        let controller;
        const body = new ReadableStream({ start(c) { controller = c; } });
        state.streams.push(controller);
        init.signal?.addEventListener("abort", () => {
            state.aborted += 1;
            try { controller.error(new DOMException("aborted", "AbortError")); } catch {}
        });
        const headers = { "Content-Type": "text/event-stream" };
        return Promise.resolve(new Response(body, { status: 200, headers }));
    };
}"""


class ControlledStream:
    """An event stream at ``path`` that the test writes event by event (``send``), then closes
    (``end``: a connection dropped if no ``done`` went first): the states between two events,
    and a cut mid-run, which a real stream goes through too fast or never. The page's own
    ``fetch`` is wrapped (other paths go through untouched); what the page asked is in
    ``requests`` and how many times it aborted in ``aborted``."""

    def __init__(self, page: Page, path: str) -> None:
        self.page = page
        page.evaluate(_CONTROLLED_FETCH, path)

    def send(self, name: str, data: dict[str, Any], event_id: str | None = None) -> None:
        frame = f"event: {name}\n" + (f"id: {event_id}\n" if event_id else "")
        frame += f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
        self.page.evaluate(
            """(frame) => {
                const streams = window.__controlled.streams;
                streams[streams.length - 1].enqueue(new TextEncoder().encode(frame));
            }""",
            frame,
        )

    def end(self) -> None:
        self.page.evaluate(
            "() => { const s = window.__controlled.streams; s[s.length - 1].close(); }"
        )

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.page.evaluate("() => window.__controlled.requests")

    @property
    def aborted(self) -> int:
        return self.page.evaluate("() => window.__controlled.aborted")


def record_live_region(page: Page, selector: str) -> Callable[[], list[str]]:
    """Every non-empty text the page gave the live region at ``selector``, in order: what a
    screen reader was handed to announce. Each assignment is recorded as it is made (a mutation
    observer would merge two made in one task). Returns the reader of that record."""
    page.evaluate(
        """(selector) => {
            const region = document.querySelector(selector);
            const said = (window.__said ??= {})[selector] = [];
            const native = Object.getOwnPropertyDescriptor(Node.prototype, "textContent");
            Object.defineProperty(region, "textContent", {
                get() { return native.get.call(this); },
                set(value) { if (value) said.push(String(value)); native.set.call(this, value); },
            });
        }""",
        selector,
    )
    return lambda: page.evaluate("(selector) => window.__said[selector]", selector)
