"""The maintained ``jira`` client library (3.10.5) as a peer of the sandbox, with a Bearer token.

The library runs in its own interpreter (``jira_library_probe.py``): this repository has a Django
app also named ``jira`` that shadows the library inside the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sandbox.atlassian.data import ALICE, BRUNO, MANY_COMMENTS, Dataset
from tests.support.ids import ACME
from tests.support.signin import tokens_for

DATA = Dataset(42)
PROBE = Path(__file__).with_name("jira_library_probe.py")


def probe(url: str, account_id: str) -> dict[str, Any]:
    token = tokens_for(url, account_id)["access_token"]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [sys.executable, "-I", str(PROBE), url, ACME, token],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=PROBE.parent,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_library_as_alice(sandbox_url: str) -> None:
    seen = probe(sandbox_url, ALICE.account_id)
    assert seen["deploymentType"] == "Cloud"
    assert seen["myself"] == ALICE.account_id
    assert seen["mob_keys"] == [f"MOB-{n}" for n in range(1, 501)]
    mob1 = DATA.issues["MOB-1"]
    assert seen["mob_1"] == {"summary": mob1.summary, "status": mob1.status.name}
    assert seen["mob_count"] == 500
    assert seen["posted"] == ["MOB-11", DATA.issues["MOB-11"].summary]
    first, second = seen["pay_pages"]
    assert len(first) == len(second) == 20
    assert not set(first) & set(second)
    assert first + second == [f"PAY-{n}" for n in range(1100, 1060, -1)]
    assert seen["pay7_total"] == MANY_COMMENTS
    assert len(seen["pay7_tail"]) == MANY_COMMENTS - 2100
    assert seen["pay7_author"].startswith("712020:")
    assert seen["pay7_newest"] == seen["pay7_tail"][-1]
    assert seen["pay1"] == "ok"


def test_library_errors_as_bruno(sandbox_url: str) -> None:
    seen = probe(sandbox_url, BRUNO.account_id)
    assert seen["myself"] == BRUNO.account_id
    assert len(seen["mob_keys"]) == 500
    status, text = seen["pay_error"]
    assert status == 400
    assert "The value 'PAY' does not exist for the field 'project'." in text
    status, text = seen["pay1"]
    assert status == 404
    assert "Issue does not exist or you do not have permission to see it." in text
