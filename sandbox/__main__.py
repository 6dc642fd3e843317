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
    parser.add_argument(
        "--llm-tokens-per-second", type=float, default=200.0, help="generation pace (tokens/s)"
    )
    parser.add_argument("--llm-first-token-ms", type=int, default=20)
    parser.add_argument(
        "--ollama-context-length",
        type=int,
        default=4096,
        help="OLLAMA_CONTEXT_LENGTH: the context of a runner whose request sets no num_ctx",
    )
    parser.add_argument("--ollama-parallel", type=int, default=1, help="OLLAMA_NUM_PARALLEL")
    parser.add_argument("--ollama-queue-max", type=int, default=512, help="OLLAMA_MAX_QUEUE")
    parser.add_argument("--ollama-load-ms", type=int, default=3000, help="time to load a model")
    parser.add_argument(
        "--ollama-keep-alive", default="5m", help="OLLAMA_KEEP_ALIVE (Go duration or seconds)"
    )
    parser.add_argument(
        "--ollama-prompt-tokens-per-second",
        type=float,
        default=1000.0,
        help="prompt evaluation pace (tokens/s)",
    )
    parser.add_argument(
        "--openai-tpm", type=int, default=200_000, help="OpenAI tokens per minute per API key"
    )
    parser.add_argument(
        "--openai-rpm", type=int, default=500, help="OpenAI requests per minute per API key"
    )
    args = parser.parse_args(argv)
    if min(args.ollama_context_length, args.ollama_parallel, args.openai_tpm, args.openai_rpm) < 1:
        parser.error("context length, parallelism and OpenAI limits must be >= 1")
    if args.ollama_queue_max < 0 or args.ollama_load_ms < 0:
        parser.error("--ollama-queue-max and --ollama-load-ms must be >= 0")
    if args.llm_tokens_per_second <= 0 or args.ollama_prompt_tokens_per_second <= 0:
        parser.error("paces must be > 0")
    from sandbox.llm.runtime import server_keep_alive

    try:
        server_keep_alive(args.ollama_keep_alive)
    except ValueError:
        parser.error(f"bad --ollama-keep-alive: {args.ollama_keep_alive!r}")
    return SandboxConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        token_ttl=args.token_ttl,
        llm_tokens_per_second=args.llm_tokens_per_second,
        llm_first_token_ms=args.llm_first_token_ms,
        ollama_context_length=args.ollama_context_length,
        ollama_parallel=args.ollama_parallel,
        ollama_queue_max=args.ollama_queue_max,
        ollama_load_ms=args.ollama_load_ms,
        ollama_keep_alive=args.ollama_keep_alive,
        ollama_prompt_tokens_per_second=args.ollama_prompt_tokens_per_second,
        openai_tpm=args.openai_tpm,
        openai_rpm=args.openai_rpm,
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
