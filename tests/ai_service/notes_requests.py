"""A hand-made, consistent release-notes request (what ``ai_proxy/release_notes.py`` sends): the
version PAY 2.1, its planned sections, two omitted issues, the planned issues in fr or en."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ai_service.contract.release_notes import (
    NotesAudience,
    Omitted,
    PlannedSection,
    ReleaseNotesRequest,
    SectionKind,
    VersionInfo,
)
from ai_service.contract.schemas import Language, NormalizedIssue
from tests.support.ai import make_issue

PLAN: dict[SectionKind, list[str]] = {
    "features": ["PAY-1", "PAY-2"],
    "improvements": ["PAY-3"],
    "fixes": ["PAY-4", "PAY-5"],
    "known_issues": ["PAY-6"],
}
OMITTED = [("PAY-7", "internal"), ("PAY-8", "not_done")]
SUMMARIES = {
    "fr": {
        1: "Payer une facture par prélèvement SEPA",
        2: "Exporter l'historique des paiements en CSV",
        3: "Afficher plus vite la liste des factures",
        4: "Le montant total est faux quand la facture a une remise",
        5: "La page de paiement reste blanche sur mobile",
        6: "Le reçu PDF n'affiche pas les accents du nom du client",
    },
    "en": {
        1: "Pay an invoice by SEPA direct debit",
        2: "Export the payment history as CSV",
        3: "Show the list of invoices faster",
        4: "The total amount is wrong when the invoice has a discount",
        5: "The payment page stays blank on mobile phones",
        6: "The PDF receipt does not show accents in the customer name",
    },
}
TYPES = {1: "Story", 2: "Story", 3: "Story", 4: "Bug", 5: "Bug", 6: "Bug"}


def notes_issues(language: Language = "fr", **changes: dict[str, Any]) -> list[NormalizedIssue]:
    """The planned issues; ``PAY_4={...}`` changes fields of PAY-4."""
    issues = []
    for n, summary in SUMMARIES[language].items():
        fields: dict[str, Any] = {
            "summary": summary,
            "issue_type": TYPES[n],
            "status": "Done" if n != 6 else "To Do",
            "status_category": "done" if n != 6 else "new",
            "fix_versions": ["2.1"],
            "description": "",
        }
        fields.update(changes.get(f"PAY_{n}", {}))
        issues.append(make_issue(n, **fields))
    return issues


def notes_request(
    language: Language = "fr",
    *,
    audience: NotesAudience = "users",
    issues: list[NormalizedIssue] | None = None,
    plan: dict[SectionKind, list[str]] | None = None,
) -> ReleaseNotesRequest:
    plan = PLAN if plan is None else plan
    return ReleaseNotesRequest(
        project_key="PAY",
        version=VersionInfo(
            id="10010", name="2.1", released=True, release_date=dt.date(2026, 3, 2)
        ),
        sections=[PlannedSection(kind=kind, keys=keys) for kind, keys in plan.items()],
        omitted=[Omitted(issue_key=k, reason=r) for k, r in OMITTED],  # type: ignore[arg-type]
        issues=notes_issues(language) if issues is None else issues,
        audience=audience,
        language=language,
    )
