"""Builds the sandbox application: control routes plus each stand-in's routes."""

from __future__ import annotations

from aiohttp import web

from sandbox.core import STATE_KEY, SandboxConfig, SandboxState, add_control_routes, count_routes


def create_app(config: SandboxConfig) -> web.Application:
    app = web.Application(middlewares=[count_routes], client_max_size=16 * 1024 * 1024)
    app[STATE_KEY] = SandboxState(config=config)
    add_control_routes(app)
    # Feature modules register here (imported lazily so each stays optional while being built).
    for module_name in ("sandbox.atlassian", "sandbox.llm"):
        try:
            module = __import__(module_name, fromlist=["setup"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.setup(app)
    return app
