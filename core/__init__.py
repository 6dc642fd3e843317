"""The bottom layer of both services: what every package needs and nothing of ours.

Errors and their registry, the outbound HTTP factory, Redis clients and the Redis JSON cache,
environment readers, observability (logs, request id, tracing), server-sent events (writer, reader,
stream cap), health probes, middleware, and small asyncio helpers (``aio``). ``core`` imports
Django and third-party libraries only, never an app or a project package (import-linter holds it),
so the public API (``jira_ai`` and its apps) and ai-service (which ships alone) share one
implementation of each mechanism.
"""
