"""``python -m eval [--models a,b] [--cases id,prefix*] [--strict] [--list]``: run the scorecard,
print its table, write ``eval/results/<UTC timestamp>.json``; exit 1 when a threshold is missed
and ``CI=true`` or ``--strict`` (else the misses are only reported).

Environment: ``EVAL_PROVIDER`` (``sandbox``, default; ``ollama`` with ``EVAL_OLLAMA_BASE_URL``;
``openai`` with ``OPENAI_API_KEY`` and optionally ``OPENAI_BASE_URL``), ``EVAL_MODELS``
(comma-separated; default: the sandbox's ``llama3.1:8b``, ``sloppy``, ``obedient``),
``EVAL_REDIS_URL`` / ``EVAL_REDIS_DB`` (default: database 13 of ``REDIS_URL``'s Redis; flushed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

from eval.cases import CASES, cases_select
from eval.report import RESULTS, overall, results_write, table, threshold_misses
from eval.runner import SANDBOX_MODELS, Provider, run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n")[0])
    parser.add_argument("--models", help="comma-separated (default: EVAL_MODELS or sandbox's)")
    parser.add_argument("--cases", help="comma-separated case ids; 'pay8*' for a prefix")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed threshold")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            target = case.jql or case.issue_key
            print(f"{case.id:24} {case.kind:8} {case.language} {target}  ({case.about})")
        return 0
    environ = dict(os.environ)
    provider = Provider.from_env(environ)
    names = args.models or environ.get("EVAL_MODELS") or ""
    models = [m.strip() for m in names.split(",") if m.strip()] or list(SANDBOX_MODELS)
    if provider.name != "sandbox" and not (args.models or environ.get("EVAL_MODELS")):
        raise SystemExit(f"EVAL_PROVIDER={provider.name} needs EVAL_MODELS (or --models)")
    cases = cases_select([c.strip() for c in (args.cases or "").split(",") if c.strip()])
    strict = args.strict or environ.get("CI", "").lower() == "true"
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    records = run(provider=provider, models=models, cases=cases)
    seconds = round(time.monotonic() - clock, 1)
    summary = overall(records)
    misses = threshold_misses(records, models)
    path = results_write(
        {
            "started_at": started_at.isoformat(),
            "provider": provider.name,
            "models": models,
            "cases": len(cases),
            "duration_s": seconds,
            "records": records,
            "overall": summary,
            "threshold_misses": misses,
        },
        started_at,
    )
    print(table(records, summary))
    where = path.relative_to(RESULTS.parent.parent)
    print(f"\n{len(cases)} cases x {len(models)} model(s) in {seconds} s -> {where}")
    if misses:
        print(f"\nThresholds missed ({len(misses)}):")
        for miss in misses:
            print(f"  - {miss}")
        if strict:
            return 1
        print("(reported only: CI=true or --strict enforces them)")
    else:
        print("All thresholds met.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
