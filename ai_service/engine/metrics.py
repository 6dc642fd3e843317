"""Prometheus metrics of the engine (both services record them: one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter

LLM_CALLS = Counter(
    "jira_ai_llm_calls_total",
    "LLM chat completions by kind (json, stream) and outcome (ok or an error code).",
    ["kind", "outcome"],
)
LLM_TOKENS = Counter(
    "jira_ai_llm_tokens_total",
    "Tokens reported by the LLM's usage, by direction (in = prompt, out = completion).",
    ["direction", "model"],
)
CITATIONS_REMOVED = Counter(
    "jira_ai_llm_citations_removed_total",
    "Issue keys cited by the model that were not in its input (removed from the output).",
)
LLM_CONTEXT_TRUNCATED = Counter(
    "jira_ai_llm_context_truncated_total",
    "Prompts the LLM server reported as cut to its context (never shown as an answer).",
    ["model"],
)
GUARD_FIRED = Counter(
    "jira_ai_llm_guard_fired_total",
    "What the guardrails found in the model's answers, by guard: unknown_citation and number "
    "(each one removed or corrected), injection, language, repair, narrative_from_facts (answers).",
    ["guard"],
)
