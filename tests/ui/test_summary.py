"""Résumer une requête JQL, on the real streamed summary: the progress bar through counting,
Jira's pages and the map chunks, the narrative before the result, the coverage line, cited
issues linked to Jira, stats, cache, Régénérer; Arrêter cancels the model's calls and the next
run reuses the chunks already summarized."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support import sandbox
from tests.support.browser import (
    assert_accessible,
    french_number,
    record_live_region,
    screenshot,
)

JQL = "project = PAY ORDER BY updated DESC"

# Every state the progress block was given, recorded from the page as each text is set (after
# the bar's value): the bar's value and max (null: indeterminate), its text and the resumed note.
WATCH_PROGRESS = """() => {
    const states = window.__progress = [];
    const text = document.getElementById("summary-progress-text");
    const bar = document.getElementById("summary-progress-bar");
    const note = document.getElementById("summary-progress-note");
    const result = document.getElementById("summary-result");
    const native = Object.getOwnPropertyDescriptor(Node.prototype, "textContent");
    Object.defineProperty(text, "textContent", {
        get() { return native.get.call(this); },
        set(value) {
            native.set.call(this, value);
            states.push({
                text: String(value),
                value: bar.hasAttribute("value") ? bar.value : null,
                max: bar.hasAttribute("max") ? bar.max : null,
                note: note.hidden ? null : note.textContent,
            });
        },
    });
    // The provisional narrative's lengths as it grows, and whether the result had come by then.
    const written = window.__written = [];
    new MutationObserver(() => {
        const narrative = result.querySelector(".provisional .narrative");
        if (narrative && narrative.textContent.length !== written.at(-1)) {
            written.push(narrative.textContent.length);
        }
    }).observe(result, { childList: true, subtree: true, characterData: true });
}"""


def watch(page: Page) -> Callable[[], list[str]]:
    page.evaluate(WATCH_PROGRESS)
    return record_live_region(page, "#summary-status")


def test_summarize_shows_progress_then_the_coverage_line_stats_and_links(
    alice: Page, axe_source: str, no_summary_kept: None
) -> None:
    page = alice
    total = page.request.get("/jira/search", params={"jql": JQL, "limit": 1}).json()["total"]
    assert total > 100
    said = watch(page)

    page.get_by_label("Requête JQL", exact=True).fill(JQL)
    page.get_by_role("button", name="Résumer", exact=True).click()

    result = page.locator("#summary-result")
    coverage = f"Analyse de 100 tickets sur {french_number(total)}"
    expect(result.locator(".coverage")).to_have_text(coverage, timeout=60_000)
    expect(page.locator("#summary-status")).to_have_text(f"Résumé prêt. {coverage}.")
    assert said() == ["Résumé en cours…", f"Résumé prêt. {coverage}."]
    expect(page.locator("#summary-progress")).to_be_hidden()
    states = page.evaluate("() => window.__progress")
    # Indeterminate until the count, then Jira's pages counted on the bar.
    assert states[:3] == [
        {"text": "Démarrage…", "value": None, "max": None, "note": None},
        {
            "text": f"{french_number(total)} tickets correspondent à la requête",
            "value": 0,
            "max": total,
            "note": None,
        },
        {"text": "Lecture de Jira : 100 tickets sur 100", "value": 100, "max": 100, "note": None},
    ]
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


def test_a_long_summary_counts_its_chunks_and_writes_its_narrative_before_the_result(
    chunked_alice: Page, ui: dict[str, str], no_summary_kept: None
) -> None:
    page = chunked_alice
    sandbox.llm_pace(ui["sandbox"], tokens_per_second=2_000, first_token_ms=0)
    said = watch(page)

    page.get_by_label("Requête JQL", exact=True).fill("project = MOB")
    page.get_by_role("button", name="Résumer", exact=True).click()

    coverage = "Analyse de 100 tickets sur 500"
    expect(page.locator("#summary-result .coverage")).to_have_text(coverage, timeout=120_000)
    assert said() == ["Résumé en cours…", f"Résumé prêt. {coverage}."]
    states = page.evaluate("() => window.__progress")
    maps = [s for s in states if s["text"].startswith("Résumé des morceaux : ")]
    chunks = maps[-1]["max"]
    assert chunks > 1
    assert [(s["text"], s["value"]) for s in maps] == [
        (f"Résumé des morceaux : {n} sur {chunks}", n) for n in range(chunks + 1)
    ]
    assert "Synthèse finale" in [s["text"] for s in states]
    assert states[-1]["text"] == "Rédaction de la synthèse"
    assert states[-1]["value"] is None
    # The narrative was on the page, growing, before the result replaced it.
    written = page.evaluate("() => window.__written")
    assert len(written) >= 3, written
    assert written == sorted(written)
    expect(page.locator("#summary-result .provisional")).to_have_count(0)
    expect(page.locator("#summary-result .reused")).to_have_count(0)


def test_stop_cancels_the_models_calls_and_the_next_run_reuses_the_chunks(
    chunked_alice: Page, ui: dict[str, str], no_summary_kept: None
) -> None:
    page = chunked_alice
    sandbox.llm_pace(ui["sandbox"], tokens_per_second=60, first_token_ms=0)
    said = watch(page)
    page.get_by_label("Requête JQL", exact=True).fill("project = MOB AND priority != Lowest")
    page.get_by_role("button", name="Résumer", exact=True).click()
    text = page.locator("#summary-progress-text")
    expect(text).to_have_text(
        re.compile(r"^Résumé des morceaux : [1-9]\d* sur \d+$"), timeout=180_000
    )
    done, chunks = (int(n) for n in re.findall(r"\d+", text.inner_text()))
    assert done < chunks
    cancelled = sandbox.stats(ui["sandbox"])["llm_cancelled"]
    # The model's next call stalls before its first token, so one is surely in flight when
    # Arrêter is pressed (on a busy machine the run could otherwise stop between two calls).
    sent = sandbox.llm_requests(ui["sandbox"])
    sandbox.llm_pace(ui["sandbox"], tokens_per_second=60, first_token_ms=120_000)
    sandbox.wait_for(ui["sandbox"], f"llm_requests>={sent + 1}", timeout=60)

    page.keyboard.press("Enter")  # the focus is on Arrêter

    expect(page.locator("#summary-status")).to_have_text("Résumé arrêté.")
    expect(text).to_have_text("Résumé arrêté.")
    sandbox.wait_for(ui["sandbox"], f"llm_cancelled>{cancelled}", timeout=10)
    assert sandbox.llm_active(ui["sandbox"]) == 0
    assert said() == ["Résumé en cours…", "Résumé arrêté."]

    sandbox.llm_pace(ui["sandbox"], tokens_per_second=50_000, first_token_ms=0)
    calls = sandbox.llm_requests(ui["sandbox"])
    page.get_by_role("button", name="Résumer", exact=True).click()
    reused = page.locator("#summary-result .meta .reused")
    expect(reused).to_have_text(
        re.compile(r"^Reprise : \d+ morceaux? déjà faits?$"), timeout=120_000
    )
    kept = int(re.findall(r"\d+", reused.inner_text())[0])
    assert kept >= done
    # The note counts up as the stored chunks are found, to the figure the result keeps.
    notes = [s["note"] for s in page.evaluate("() => window.__progress") if s["note"]]
    counts = [int(re.findall(r"\d+", note)[0]) for note in notes]
    assert counts == sorted(counts)
    assert notes[-1] == reused.inner_text()
    resumed_calls = sandbox.llm_requests(ui["sandbox"]) - calls

    # Régénérer redoes every chunk of the finished run: the resumed run cost that less the reused.
    calls = sandbox.llm_requests(ui["sandbox"])
    page.get_by_role("button", name="Régénérer").click()
    expect(page.locator("#summary-result .fresh")).to_be_visible(timeout=120_000)
    expect(page.locator("#summary-result .reused")).to_have_count(0)
    assert resumed_calls < sandbox.llm_requests(ui["sandbox"]) - calls
