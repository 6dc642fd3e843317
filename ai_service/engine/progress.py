"""Progress messages of the streamed analysis (``log`` events), in the analysis's language."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "jira_reading": {
        "fr": "Lecture de {key} et de ses commentaires dans Jira",
        "en": "Reading {key} and its comments from Jira",
    },
    "jira_read": {
        "fr": "{key} : {read} commentaires lus sur {total}",
        "en": "{key}: {read} of {total} comments read",
    },
    "context": {
        "fr": "{key} : {analyzed} commentaires sur {total} dans l'analyse",
        "en": "{key}: {analyzed} of {total} comments in the analysis",
    },
    "generate": {
        "fr": "{count} sections demandées au modèle",
        "en": "{count} sections requested from the model",
    },
    "map": {
        "fr": "Résumé des morceaux : {done} sur {total}",
        "en": "Summarizing the parts: {done} of {total}",
    },
    "map_reused": {
        "fr": "Résumé des morceaux : {done} sur {total} ({reused} morceaux déjà faits)",
        "en": "Summarizing the parts: {done} of {total} ({reused} parts already done)",
    },
    "combine": {
        "fr": "Synthèse finale de {parts} résumés partiels",
        "en": "Final synthesis of {parts} partial summaries",
    },
    "repair": {
        "fr": "réponse refusée par les contrôles : nouvelle demande au modèle",
        "en": "answer refused by the checks: asking the model again",
    },
    "queue": {
        "fr": "en attente du modèle, position {position}",
        "en": "waiting for the model, position {position}",
    },
    "load": {
        "fr": "chargement du modèle en mémoire",
        "en": "loading the model into memory",
    },
    "think": {
        "fr": "le modèle réfléchit",
        "en": "the model is thinking",
    },
}


def progress_message(name: str, language: str, **values: object) -> str:
    texts = MESSAGES[name]
    return texts.get(language, texts["en"]).format(**values)
