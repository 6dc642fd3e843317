"""Analyser un ticket: sync, live (SSE read by fetch), Arrêter, and accessible streaming."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support import sandbox
from tests.support.browser import assert_accessible, screenshot

# Records, from the page itself, every length the streamed text had while the stream ran, and the
# region's aria-busy at those moments: proof that text appeared progressively, not all at the end.
WATCH_STREAM = """() => {
    window.__stream = { lengths: [], busy: [] };
    const region = document.getElementById("analysis-result");
    new MutationObserver(() => {
        const length = [...region.querySelectorAll(".stream-text")]
            .reduce((sum, p) => sum + p.textContent.length, 0);
        const seen = window.__stream.lengths;
        if (length && length !== seen[seen.length - 1]) {
            seen.push(length);
            window.__stream.busy.push(region.getAttribute("aria-busy"));
        }
    }).observe(region, { childList: true, subtree: true, characterData: true });
}"""


def test_analyze_sync_renders_every_section(alice: Page) -> None:
    page = alice
    page.get_by_label("Clé du ticket", exact=True).fill("pay-3")
    page.get_by_role("button", name="Analyser", exact=True).click()

    result = page.locator("#analysis-result")
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse de PAY-3 terminée.", timeout=30_000
    )
    expect(result.get_by_role("heading", level=3)).to_contain_text("PAY-3")
    for heading in (
        "Synthèse",
        "État d'avancement",
        "Risques",
        "Blocages",
        "Critères d'acceptation",
        "Prochaines actions",
        "Questions ouvertes",
    ):
        expect(result.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(result).to_contain_text("commentaires analysés sur")
    expect(result.get_by_role("link", name="PAY-3").first).to_have_attribute(
        "href", "https://acme.atlassian.net/browse/PAY-3"
    )


def test_analyze_live_streams_section_by_section(
    alice: Page, ui: dict[str, str], axe_source: str
) -> None:
    page = alice
    sandbox.llm_pace(ui["sandbox"], tokens_per_second=120, first_token_ms=20)
    page.evaluate(WATCH_STREAM)
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-7")
    page.get_by_role("button", name="Analyser en direct").click()

    status = page.locator("#analysis-status")
    expect(status).to_have_text("Analyse en direct de PAY-7 démarrée.")
    expect(page.locator("#analysis").get_by_role("button", name="Arrêter")).to_be_focused()
    expect(status).not_to_have_text("Analyse en direct de PAY-7 démarrée.", timeout=60_000)
    expect(status).to_have_text("Analyse en direct de PAY-7 terminée.")

    stream = page.evaluate("() => window.__stream")
    assert len(stream["lengths"]) >= 5, stream["lengths"]
    assert stream["lengths"] == sorted(stream["lengths"])
    assert set(stream["busy"]) == {"true"}
    result = page.locator("#analysis-result")
    expect(result).to_have_attribute("aria-busy", "false")
    assert result.locator(".stream-section").count() >= 3
    expect(page.locator("#analysis-steps li").first).to_be_visible()
    expect(page.locator("#analysis-steps li.done")).to_have_count(
        page.locator("#analysis-steps li").count()
    )
    expect(page.locator("#analysis").get_by_role("button", name="Arrêter")).to_be_disabled()
    expect(page.get_by_role("button", name="Analyser en direct")).to_be_focused()
    assert_accessible(page, axe_source)
    screenshot(page, "analysis-stream")


def test_stop_aborts_the_stream_and_the_server_sees_it(alice: Page, ui: dict[str, str]) -> None:
    page = alice
    sandbox.llm_pace(ui["sandbox"], tokens_per_second=5, first_token_ms=20)
    cancelled_before = sandbox.stats(ui["sandbox"])["llm_cancelled"]
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-4")
    page.get_by_role("button", name="Analyser en direct").click()
    expect(page.locator("#analysis-result .stream-text").first).not_to_be_empty(timeout=30_000)

    page.keyboard.press("Enter")  # the focus is on Arrêter

    status = page.locator("#analysis-status")
    expect(status).to_have_text("Analyse en direct arrêtée.")
    expect(page.locator("#analysis-result")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#analysis").get_by_role("button", name="Arrêter")).to_be_disabled()
    stopped_at = page.locator("#analysis-result").inner_text()
    # The sandbox answers once its LLM has seen the disconnect (or fails the test after 5 s).
    sandbox.wait_for(ui["sandbox"], f"llm_cancelled>{cancelled_before}", timeout=5)
    assert page.locator("#analysis-result").inner_text() == stopped_at
