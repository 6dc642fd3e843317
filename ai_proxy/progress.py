"""Progress messages of the public API's own steps of a streamed summary (``log`` events of steps
``count`` and ``fetch``), in the summary's language; the engine's steps have their own catalogue
(``ai_service.engine.progress``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "count": {
        "fr": "{total} tickets correspondent à la requête",
        "en": "{total} issues match the query",
    },
    "fetch": {
        "fr": "Lecture de Jira : {done} tickets sur {total}",
        "en": "Reading Jira: {done} of {total} issues",
    },
}


def number_format(value: int, language: str) -> str:
    """``1 649`` in French (a no-break space between thousands), ``1,649`` in English."""
    text = f"{value:,}"
    return text.replace(",", "\u00a0") if language == "fr" else text


def progress_message(name: str, language: str, **values: int) -> str:
    texts = MESSAGES[name]
    formatted = {k: number_format(v, language) for k, v in values.items()}
    return texts.get(language, texts["en"]).format(**formatted)
