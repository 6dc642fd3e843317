"""ai-service: the separately deployable LLM engine and its /ai/* API.

It imports nothing from ``accounts``, ``jira``, ``ai_proxy`` or ``jira_ai`` (an import-linter
contract enforces it): it ships alone. The engine is plain Python that the public API's local
fallback imports too, so every prompt and pipeline has one implementation.
"""
