"""What the suites share, as plain modules (conftests hold fixtures only, and import from here):

- ``ids``: the sandbox accounts and sites the tests sign in with;
- ``servers``: the sandbox and Daphne processes, and the session's server factory;
- ``signin``: the OAuth dance against the sandbox (its consent page), and a sign-in through the app;
- ``sandbox``: the sandbox's control API (faults, LLM pace, stats and waits on them);
- ``sse``: server-sent events read with ``httpx-sse``;
- ``ai``: synthetic normalized issues and service tokens for ai-service and its engine;
- ``jira``: the Jira client's test configuration and token source;
- ``telemetry``: an OTLP collector and Prometheus samples;
- ``browser``: Playwright helpers (sign-in, accessibility, screenshots).
"""
