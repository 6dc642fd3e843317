"""LiteLLM proxy 1.106.2 for the side-by-side streaming bench (``bench/bench_litellm.py``).

Installed once in its own virtualenv, ``bench/.venv-litellm`` (git-ignored), never in the
project's: ``litellm[proxy]`` brings FastAPI, uvicorn, boto3, Azure SDKs and ~150 packages the
project does not use. Pinned, because newer releases need a certifi the registry here lacks and an
unpinned install backtracks through ~900 MB of wheels. The install takes about four minutes on
this machine, so ``python -m bench.litellm`` (``make bench-litellm``) can do it ahead of a run.

The proxy runs with every ``LITELLM_LOCAL_*`` switch on (model cost map, Anthropic beta headers,
policy templates, blog posts, autorouter presets read from the package, not fetched), telemetry
off (``LITELLM_TELEMETRY=False``, ``DO_NOT_TRACK=1``), no database, and a fixed master key
(1.106 refuses to start without one). One model, ``gpt-4o-mini``, points at an OpenAI-compatible
``api_base`` (the bench's tap in front of the sandbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.servers import ServerProcess, free_port, spawn_ready

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-litellm"
REQUIREMENT = "litellm[proxy]==1.106.2"
VERSION = "1.106.2"
MASTER_KEY = "sk-bench-litellm-master-0001"
MODEL = "gpt-4o-mini"
START_TIMEOUT = 120.0  # it imports for ~15 s on an idle 2-core machine

LOCAL_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
}


def executable() -> Path:
    return VENV / "bin" / "litellm"


def installed_version() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists() or not executable().exists():
        return None
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None


def ensure() -> Path:
    """The ``litellm`` executable, installing the virtualenv first if it is missing or holds
    another version."""
    if installed_version() == VERSION:
        return executable()
    print(f"installing {REQUIREMENT} in {VENV} (once; a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", REQUIREMENT],
        check=True,
    )
    if installed_version() != VERSION:
        raise RuntimeError(f"{VENV} does not hold litellm {VERSION} after the install")
    return executable()


def config_text(api_base: str, api_key: str) -> str:
    # JSON is YAML: no YAML writer needed on our side.
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"openai/{MODEL}",
                        "api_base": api_base,
                        "api_key": api_key,
                    },
                }
            ],
            "general_settings": {"master_key": MASTER_KEY},
        },
        indent=2,
    )


def start(api_base: str, api_key: str) -> ServerProcess:
    """``litellm --config ... --port N`` (one worker) on loopback, polled on
    ``/health/liveliness`` until ready."""
    litellm = ensure()
    workdir = Path(tempfile.mkdtemp(prefix="bench-litellm-"))
    config = workdir / "litellm.yaml"
    config.write_text(config_text(api_base, api_key))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))},
        **LOCAL_ENV,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("DATABASE_URL", None)  # no database: LiteLLM would try to migrate one
    return spawn_ready(
        "litellm",
        [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        health_path="/health/liveliness",
        cwd=workdir,
        env=env,
        timeout=START_TIMEOUT,
    )


if __name__ == "__main__":
    print(ensure())
