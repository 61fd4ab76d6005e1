"""`make bench`: run every benchmark section, each printing its figures beside a baseline from the same run.

    python -m evals.bench                 # all sections
    python -m evals.bench --only demo     # one or more sections by name
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback

SECTIONS = {
    "demo": "evals.bench.demo_bench",
    "import": "evals.bench.import_bench",
    "tools": "evals.bench.tools_bench",
    "predictive": "evals.bench.predictive_bench",
    "knowledge": "evals.bench.knowledge_bench",
    "embedding": "evals.bench.embedding_bench",
    "assistant": "evals.bench.assistant_bench",
    "web": "evals.bench.web_load_bench",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="run only these sections")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or list(SECTIONS):
        print(f"\n=== bench: {name} ===", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(SECTIONS[name]).main()
        except Exception:  # noqa: BLE001 - one broken section must not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
        print(f"=== {name} took {time.perf_counter() - started:.1f} s ===", flush=True)
    if failed:
        print(f"\nsections that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
