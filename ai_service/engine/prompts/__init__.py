"""Versioned prompt templates (``prompts/<version>/<name>.<language>.txt``, ``string.Template``).

``PROMPT_VERSION`` is part of every cache key the API builds: changing a template means a new
version directory, so no cached answer of an older prompt is served as a new one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

PROMPT_VERSION = "v3"
LANGUAGES = ("fr", "en")
_ROOT = Path(__file__).resolve().parent


@cache
def template(name: str, language: str, version: str = PROMPT_VERSION) -> Template:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported prompt language {language!r}")
    return Template((_ROOT / version / f"{name}.{language}.txt").read_text(encoding="utf-8"))


def render(name: str, language: str, **values: object) -> str:
    """The template filled in; values are substituted once (``$`` inside them stays as is)."""
    return template(name, language).substitute({k: str(v) for k, v in values.items()}).strip()


@cache
def named_lines(name: str, language: str) -> dict[str, str]:
    """``<name>.<language>.txt`` read as one ``name: text`` line per entry."""
    lines = template(name, language).template.splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def section_tasks(language: str) -> dict[str, str]:
    """``sections.<language>.txt``: one ``section: task`` line per streamed section."""
    return named_lines("sections", language)


def audience_rules(language: str) -> dict[str, str]:
    """``audiences.<language>.txt``: how a report is written for each audience."""
    return named_lines("audiences", language)
