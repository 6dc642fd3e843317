"""What the engine's guardrails did (the answers' ``quality`` block), shown discreetly: one muted
line when nothing fired, one note per guard otherwise, in the page's language, outside the live
regions. The engine does not fill the block yet: the API's real answers are edited on their way
to the page (``edit_json_answers``, ``edit_stream_events``)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.support.browser import (
    assert_accessible,
    edit_json_answers,
    edit_stream_events,
    edit_summary_result,
    workspace_ready,
)

CLEAN = {
    "unknown_citations_removed": 0,
    "numbers_corrected": 0,
    "language_ok": True,
    "injection_suspected": False,
    "repaired": False,
    "narrative_from_facts": False,
}
EVERY_GUARD = {
    "unknown_citations_removed": 2,
    "numbers_corrected": 1,
    "language_ok": False,
    "injection_suspected": True,
    "repaired": True,
    "narrative_from_facts": True,
}


def with_quality(quality: dict[str, Any]) -> Any:
    def edit(body: dict[str, Any]) -> None:
        assert "quality" in body, "the API's answer has no quality block"
        body["quality"] = quality

    return edit


def outside_live_regions(note: Locator) -> None:
    # Read with the result, never announced over it: the live regions keep start, end, errors.
    inside = note.evaluate(
        "(n) => !!n.closest('[aria-live], [role=status], [role=alert], [role=log]')"
    )
    assert inside is False
    assert note.get_attribute("role") is None


def test_summary_lists_each_guard_that_fired(alice: Page, axe_source: str) -> None:
    page = alice
    edit_summary_result(page, with_quality(EVERY_GUARD))
    page.get_by_label("Requête JQL", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Résumer", exact=True).click()

    result = page.locator("#summary-result")
    notes = result.get_by_role("list", name="Contrôles de la réponse :")
    expect(notes.get_by_role("listitem")).to_have_text(
        [
            "2 références à des tickets inconnus retirées",
            "1 chiffre corrigé d'après les données",
            "Texte de synthèse reconstruit à partir des données",
            "Instructions suspectes trouvées dans les tickets : ignorées",
        ],
        timeout=30_000,
    )
    expect(result.locator(".quality-clean")).to_have_count(0)
    outside_live_regions(result.locator(".quality"))
    expect(page.locator("#summary-status")).to_have_text("Résumé prêt. Analyse de 2 tickets sur 2.")
    assert_accessible(page, axe_source)


def test_a_clean_analysis_gets_one_muted_line(alice: Page, axe_source: str) -> None:
    page = alice
    edit_json_answers(page, "/ai/analyze-issue", with_quality(CLEAN))
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser", exact=True).click()

    result = page.locator("#analysis-result")
    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse de PAY-3 terminée.", timeout=30_000
    )
    expect(result.locator(".quality")).to_have_count(1)
    expect(result.locator(".quality-clean")).to_have_text("✓ Réponse vérifiée")
    expect(result.locator(".quality-clean .quality-mark")).to_have_attribute("aria-hidden", "true")
    expect(result.locator(".quality-notes")).to_have_count(0)
    outside_live_regions(result.locator(".quality"))
    assert_accessible(page, axe_source)


def test_analysis_notes_without_narrative_rebuild(alice: Page) -> None:
    page = alice
    quality = {**CLEAN, "unknown_citations_removed": 1, "language_ok": False, "repaired": True}
    edit_json_answers(page, "/ai/analyze-issue", with_quality(quality))
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser", exact=True).click()

    notes = page.locator("#analysis-result").get_by_role("list", name="Contrôles de la réponse :")
    expect(notes.get_by_role("listitem")).to_have_text(
        [
            "1 référence à un ticket inconnu retirée",
            "Réponse pas entièrement dans la langue demandée",
            "Réponse corrigée par une seconde demande au modèle",
        ],
        timeout=30_000,
    )


def test_the_stream_shows_its_done_events_quality_at_the_end(alice: Page, axe_source: str) -> None:
    page = alice
    quality = {**CLEAN, "numbers_corrected": 3, "repaired": True}
    seen: list[str] = []

    def edit(name: str, data: dict[str, Any]) -> dict[str, Any]:
        seen.append(name)
        return {**data, "quality": quality} if name == "done" else data

    edit_stream_events(page, "/ai/analyze-issue/stream", edit)
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser en direct").click()

    status = page.locator("#analysis-status")
    expect(status).to_have_text("Analyse en direct de PAY-3 terminée.", timeout=60_000)
    assert seen[-1] == "done"
    notes = page.locator("#analysis-result").get_by_role("list", name="Contrôles de la réponse :")
    expect(notes.get_by_role("listitem")).to_have_text(
        [
            "3 chiffres corrigés d'après les données",
            "Réponse corrigée par une seconde demande au modèle",
        ]
    )
    outside_live_regions(page.locator("#analysis-result .quality"))
    assert_accessible(page, axe_source)


def test_a_stream_without_a_quality_block_claims_nothing(alice: Page) -> None:
    page = alice
    edit_stream_events(
        page,
        "/ai/analyze-issue/stream",
        lambda name, data: {k: v for k, v in data.items() if k != "quality"},
    )
    page.get_by_label("Clé du ticket", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyser en direct").click()

    expect(page.locator("#analysis-status")).to_have_text(
        "Analyse en direct de PAY-3 terminée.", timeout=60_000
    )
    expect(page.locator("#analysis-result .stream-section").first).to_be_visible()
    expect(page.locator("#analysis-result .quality")).to_have_count(0)


def test_the_english_page_words_the_checks_in_english(alice: Page, axe_source: str) -> None:
    page = alice
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    workspace_ready(page)
    quality = {**CLEAN, "unknown_citations_removed": 1, "numbers_corrected": 2}
    edit_summary_result(page, with_quality(quality))
    edit_json_answers(page, "/ai/analyze-issue", with_quality(CLEAN))

    page.get_by_label("JQL query", exact=True).fill("key in (PAY-6, PAY-8)")
    page.get_by_role("button", name="Summarize", exact=True).click()
    notes = page.locator("#summary-result").get_by_role("list", name="Checks of the answer:")
    expect(notes.get_by_role("listitem")).to_have_text(
        ["1 reference to an unknown issue removed", "2 numbers corrected from the data"],
        timeout=30_000,
    )

    page.get_by_label("Issue key", exact=True).fill("PAY-3")
    page.get_by_role("button", name="Analyze", exact=True).click()
    expect(page.locator("#analysis-result .quality-clean")).to_have_text(
        "✓ Answer checked", timeout=30_000
    )
    assert_accessible(page, axe_source)
