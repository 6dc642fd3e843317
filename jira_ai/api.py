"""The one NinjaAPI of the public service, mounted at the root; errors are mapped by
:func:`core.errors.install_error_handlers` (the same mapping as ai-service's)."""

from __future__ import annotations

from ninja import NinjaAPI

from accounts.auth import SessionAuth
from core.errors import install_error_handlers

api = NinjaAPI(
    title="jira-ai",
    version="1.0.0",
    description="Summarize Jira JQL queries and analyze issues with an LLM.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=SessionAuth(),
)
install_error_handlers(api)
