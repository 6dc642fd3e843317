"""The streamed summary's states, event by event: the progress bar (indeterminate, then counted,
with its words), the narrative as written then the rendered result, Arrêter, an error with its
wait, a resumed run, a dropped connection. The test writes the stream (``ControlledStream``):
these are the states between two events, and cuts, that a real run goes through too fast or
never; the real stream end to end is in ``test_summary.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from ai_service.contract.schemas import Item, Quality, Stats, Summary, SummaryCoverage
from tests.support.browser import (
    ControlledStream,
    assert_accessible,
    french_number,
    record_live_region,
    screenshot,
    workspace_ready,
)

STREAM = "/ai/summarize-jql/stream"
JQL = "project = PAY"
STARTED = "Résumé en cours…"


def canned_summary(*, analyzed: int = 2, total: int = 2) -> dict[str, Any]:
    return Summary(
        summary="PAY-1 et PAY-2 avancent ; PAY-2 attend une revue.",
        highlights=[Item(text="Paiement par carte livré", issue_key="PAY-1")],
        risks=[Item(text="Revue en retard", issue_key="PAY-2")],
        blockers=[],
        next_steps=[Item(text="Relancer la revue de PAY-2")],
        stats=Stats(
            by_status={"En cours": 1, "Terminé": 1},
            by_priority={"High": 2},
            by_assignee={"Emma Schmidt": 2},
            by_type={"Story": 2},
        ),
        coverage=SummaryCoverage(analyzed=analyzed, total=total, truncated=False, chunks=1),
        language="fr",
        provider="ollama",
        model="llama3.1:8b",
        prompt_version="test",
        citations_removed=0,
        quality=Quality(),
        cached=False,
        generated_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    ).model_dump(mode="json")


def done(*, chunks: int = 1, reused: int = 0) -> dict[str, Any]:
    coverage = {"analyzed": 2, "total": 2, "chunks": chunks, "chunks_reused": reused}
    return {"coverage": coverage, "duration_ms": 1200, "quality": None}


def start(page: Page) -> tuple[ControlledStream, Any]:
    stream = ControlledStream(page, STREAM)
    said = record_live_region(page, "#summary-status")
    page.get_by_label("Requête JQL", exact=True).fill(JQL)
    page.get_by_role("button", name="Résumer", exact=True).click()
    return stream, said


def progress_text(page: Page) -> Any:
    return page.locator("#summary-progress-text")


def bar(page: Page) -> Any:
    return page.locator("#summary-progress-bar")


def test_the_bar_is_indeterminate_until_a_total_then_counts_in_words(
    alice: Page, axe_source: str
) -> None:
    page = alice
    stream, said = start(page)

    expect(progress_text(page)).to_have_text("Démarrage…")
    expect(page.locator("#summary-progress-bar:indeterminate")).to_have_count(1)
    expect(page.locator("#summary .actions").get_by_role("button", name="Arrêter")).to_be_focused()
    expect(page.get_by_role("button", name="Résumer", exact=True)).to_be_disabled()
    expect(page.locator("#summary-result")).to_have_attribute("aria-busy", "true")
    assert stream.requests[0]["body"] == {"jql": JQL, "language": "fr", "refresh": False}
    assert stream.requests[0]["headers"]["Accept"] == "text/event-stream"

    stream.send("log", {"step": "count", "message": "comptage"}, "r:1")
    expect(progress_text(page)).to_have_text("Comptage des tickets…")
    expect(page.locator("#summary-progress-bar:indeterminate")).to_have_count(1)

    stream.send("log", {"step": "count", "message": "", "total": 1649}, "r:2")
    expect(progress_text(page)).to_have_text(
        f"{french_number(1649)} tickets correspondent à la requête"
    )
    expect(page.locator("#summary-progress-bar:indeterminate")).to_have_count(0)
    expect(bar(page)).to_have_attribute("max", "1649")
    expect(bar(page)).to_have_attribute("value", "0")

    stream.send("log", {"step": "fetch", "message": "", "done": 300, "total": 1649}, "r:3")
    fetching = f"Lecture de Jira : 300 tickets sur {french_number(1649)}"
    expect(page.get_by_role("progressbar", name=fetching)).to_have_attribute("value", "300")
    assert_accessible(page, axe_source)
    screenshot(page, "summary-progress")

    stream.send("log", {"step": "map", "message": "", "done": 3, "total": 13}, "r:4")
    expect(progress_text(page)).to_have_text("Résumé des morceaux : 3 sur 13")
    expect(bar(page)).to_have_attribute("max", "13")
    expect(bar(page)).to_have_attribute("value", "3")
    expect(page.locator("#summary-progress-note")).to_be_hidden()

    stream.send("log", {"step": "queue", "message": "en attente du modèle, position 2"}, "r:5")
    expect(progress_text(page)).to_have_text("En attente du modèle (position 2)")
    expect(page.locator("#summary-progress-bar:indeterminate")).to_have_count(1)

    stream.send("log", {"step": "combine", "message": ""}, "r:6")
    expect(progress_text(page)).to_have_text("Synthèse finale")
    expect(page.locator("#summary-progress-bar:indeterminate")).to_have_count(1)
    assert said() == [STARTED]


def test_the_narrative_shows_as_written_then_the_result_replaces_it(
    alice: Page, axe_source: str
) -> None:
    page = alice
    stream, said = start(page)
    stream.send("delta", {"section": "summary", "text": "PAY-1 avance "}, "r:1")
    stream.send("delta", {"section": "summary", "text": "<b>bien</b>."}, "r:2")

    provisional = page.locator("#summary-result .provisional")
    expect(provisional.get_by_role("heading", level=3)).to_have_text(
        "Synthèse (en cours d'écriture)"
    )
    expect(provisional.locator(".narrative")).to_have_text("PAY-1 avance <b>bien</b>.")
    expect(provisional.locator("b, a")).to_have_count(0)
    expect(progress_text(page)).to_have_text("Rédaction de la synthèse")

    stream.send("result", {"section": "summary", "content": canned_summary()}, "r:3")
    result = page.locator("#summary-result")
    expect(result.locator(".provisional")).to_have_count(0)
    expect(result.get_by_role("heading", name="Résumé de la requête")).to_be_visible()
    expect(result.locator(".coverage")).to_have_text("Analyse de 2 tickets sur 2")
    expect(result.locator(".quality-clean")).to_have_text("✓ Réponse vérifiée")
    expect(result.locator(".narrative")).to_have_text(
        "PAY-1 et PAY-2 avancent ; PAY-2 attend une revue."
    )
    expect(result).to_have_attribute("aria-busy", "true")
    assert said() == [STARTED]

    stream.send("done", done(), "r:4")
    expect(page.locator("#summary-status")).to_have_text("Résumé prêt. Analyse de 2 tickets sur 2.")
    expect(page.locator("#summary-progress")).to_be_hidden()
    expect(result).to_have_attribute("aria-busy", "false")
    expect(page.locator("#summary .actions").get_by_role("button", name="Arrêter")).to_be_disabled()
    expect(page.get_by_role("button", name="Résumer", exact=True)).to_be_focused()
    expect(result.locator(".reused")).to_have_count(0)
    assert said() == [STARTED, "Résumé prêt. Analyse de 2 tickets sur 2."]
    assert_accessible(page, axe_source)


def test_stop_aborts_the_request_and_freezes_the_page(alice: Page) -> None:
    page = alice
    stream, said = start(page)
    stream.send("log", {"step": "map", "message": "", "done": 1, "total": 13}, "r:1")
    stream.send("delta", {"section": "summary", "text": "Début du texte"}, "r:2")
    expect(page.locator("#summary-result .narrative")).to_have_text("Début du texte")

    page.keyboard.press("Enter")  # the focus is on Arrêter

    expect(page.locator("#summary-status")).to_have_text("Résumé arrêté.")
    expect(progress_text(page)).to_have_text("Résumé arrêté.")
    expect(bar(page)).to_be_hidden()
    expect(page.locator("#summary-progress")).to_have_attribute("data-state", "cancelled")
    expect(page.locator("#summary-result")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("button", name="Résumer", exact=True)).to_be_focused()
    assert stream.aborted == 1
    assert len(stream.requests) == 1  # no reconnect after a stop
    assert said() == [STARTED, "Résumé arrêté."]


@pytest.mark.parametrize(
    ("code", "message", "todo"),
    [
        (
            "llm_unavailable",
            "Le service d'IA est indisponible pour le moment.",
            "Réessayez dans 30 s.",
        ),
        ("llm_rate_limited", "Quota atteint.", "Patientez 30 s puis réessayez."),
    ],
)
def test_an_error_event_says_how_long_to_wait(
    alice: Page, axe_source: str, code: str, message: str, todo: str
) -> None:
    page = alice
    stream, said = start(page)
    stream.send("log", {"step": "map", "message": "", "done": 2, "total": 13}, "r:1")
    stream.send("error", {"code": code, "detail": "upstream", "retry_after": 30}, "r:2")

    error = page.locator("#summary-error .error-box")
    expect(error).to_have_attribute("data-code", code)
    expect(error.locator(".error-message")).to_have_text(f"Erreur : {message}")
    expect(error.locator(".error-todo")).to_have_text(todo)
    expect(page.locator("#summary-progress")).to_be_hidden()
    expect(page.locator("#summary-result")).to_have_attribute("aria-busy", "false")
    assert said() == [STARTED, f"Erreur : {message} {todo}"]
    assert len(stream.requests) == 1
    assert_accessible(page, axe_source)


def test_a_resumed_run_says_how_many_chunks_were_already_done(alice: Page) -> None:
    page = alice
    stream, said = start(page)
    stream.send(
        "log", {"step": "map", "message": "3 morceaux déjà faits", "done": 3, "total": 13}, "r:1"
    )
    note = page.locator("#summary-progress-note")
    expect(note).to_have_text("Reprise : 3 morceaux déjà faits")
    expect(progress_text(page)).to_have_text("Résumé des morceaux : 3 sur 13")

    stream.send("log", {"step": "map", "message": "", "done": 4, "total": 13}, "r:2")
    expect(progress_text(page)).to_have_text("Résumé des morceaux : 4 sur 13")
    expect(note).to_have_text("Reprise : 3 morceaux déjà faits")

    stream.send("result", {"section": "summary", "content": canned_summary()}, "r:3")
    stream.send("done", done(chunks=13, reused=3), "r:4")
    expect(page.locator("#summary-result .meta .reused")).to_have_text(
        "Reprise : 3 morceaux déjà faits"
    )
    assert said() == [STARTED, "Résumé prêt. Analyse de 2 tickets sur 2."]


def test_a_resumed_run_known_only_from_done_is_said_in_the_result(alice: Page) -> None:
    page = alice
    stream, _ = start(page)
    stream.send("result", {"section": "summary", "content": canned_summary()}, "r:1")
    stream.send("done", done(chunks=13, reused=1), "r:2")
    expect(page.locator("#summary-result .meta .reused")).to_have_text(
        "Reprise : 1 morceau déjà fait"
    )


def test_a_dropped_connection_is_resumed_once_from_the_last_event(alice: Page) -> None:
    page = alice
    stream, said = start(page)
    stream.send("log", {"step": "map", "message": "", "done": 5, "total": 13}, "r:7")
    stream.send("delta", {"section": "summary", "text": "Début "}, "r:8")
    expect(page.locator("#summary-result .narrative")).to_have_text("Début ")

    stream.end()

    expect(progress_text(page)).to_have_text("Connexion perdue : reprise du résumé…")
    expect(page.locator("#summary-progress")).to_have_attribute("data-state", "reconnecting")
    page.wait_for_function("() => window.__controlled.requests.length === 2")
    again = stream.requests[1]
    assert again["headers"]["Last-Event-ID"] == "r:8"
    assert again["body"] == stream.requests[0]["body"]
    stream.send("delta", {"section": "summary", "text": "et suite."}, "r:9")
    expect(page.locator("#summary-result .narrative")).to_have_text("Début et suite.")
    stream.send("result", {"section": "summary", "content": canned_summary()}, "r:10")
    stream.send("done", done(), "r:11")

    expect(page.locator("#summary-status")).to_have_text("Résumé prêt. Analyse de 2 tickets sur 2.")
    expect(page.locator("#summary-result .coverage")).to_have_text("Analyse de 2 tickets sur 2")
    assert said() == [STARTED, "Résumé prêt. Analyse de 2 tickets sur 2."]


def test_a_second_drop_is_an_error_that_says_to_run_again(alice: Page, axe_source: str) -> None:
    page = alice
    stream, said = start(page)
    stream.send("delta", {"section": "summary", "text": "Début "}, "r:1")
    stream.end()
    page.wait_for_function("() => window.__controlled.requests.length === 2")
    stream.end()

    cut = (
        "La connexion a été interrompue avant la fin du résumé. Relancez-le : les morceaux "
        "déjà faits seront repris."
    )
    error = page.locator("#summary-error .error-box")
    expect(error).to_have_attribute("data-code", "stream_cut")
    expect(error).to_have_text(cut)
    expect(page.locator("#summary-result")).to_be_empty()
    assert said() == [STARTED, f"Erreur : {cut}"]
    assert len(stream.requests) == 2
    assert_accessible(page, axe_source)


def test_the_english_page_words_the_progress_in_english(alice: Page) -> None:
    page = alice
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    workspace_ready(page)
    stream = ControlledStream(page, STREAM)
    page.get_by_label("JQL query", exact=True).fill(JQL)
    page.get_by_role("button", name="Summarize", exact=True).click()
    assert stream.requests[0]["body"]["language"] == "en"

    stream.send("log", {"step": "fetch", "message": "", "done": 300, "total": 1649}, "r:1")
    expect(
        page.get_by_role("progressbar", name="Reading Jira: 300 of 1,649 issues")
    ).to_be_visible()
    stream.send("log", {"step": "map", "message": "3 parts already done", "done": 3, "total": 13})
    expect(progress_text(page)).to_have_text("Summarizing the parts: 3 of 13")
    expect(page.locator("#summary-progress-note")).to_have_text("Resumed: 3 parts already done")
    page.locator("#summary .actions").get_by_role("button", name="Stop").click()
    expect(page.locator("#summary-status")).to_have_text("Summary stopped.")
