"""``python -m sandbox --host 127.0.0.1 --port 8090``: serve the sandbox until interrupted.

Prints ``Sandbox ready on http://HOST:PORT`` (the real port when ``--port 0``) once it accepts
connections; tests and ``make demo`` wait for that line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal

from aiohttp import web

from sandbox.app import create_app
from sandbox.core import SandboxConfig


def parse_args(argv: list[str] | None = None) -> SandboxConfig:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime (s)")
    parser.add_argument("--llm-tokens-per-second", type=float, default=200.0)
    parser.add_argument("--llm-first-token-ms", type=int, default=20)
    args = parser.parse_args(argv)
    return SandboxConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        token_ttl=args.token_ttl,
        llm_tokens_per_second=args.llm_tokens_per_second,
        llm_first_token_ms=args.llm_first_token_ms,
    )


async def serve(config: SandboxConfig) -> None:
    app = create_app(config)
    # handler_cancellation: a client that goes away cancels its handler, which is how the LLM
    # stand-in counts cancelled requests and how a "hang" fault ends.
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=2048)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    real = dataclasses.replace(config, port=port)
    from sandbox.core import STATE_KEY

    app[STATE_KEY].config = real
    print(f"Sandbox ready on {real.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
