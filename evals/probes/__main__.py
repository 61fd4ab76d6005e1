"""`python -m evals.probes`: run the confidentiality probes and print counts and leaks.

    python -m evals.probes                          # offline router
    python -m evals.probes --model llm-scripted     # obedient scripted model via tests/assistant/openai_server.py
    python -m evals.probes --json                   # the report as JSON, every finding included
    python -m evals.probes --category scope --only scope-en-name

Exit status 1 when any case leaked or failed. The world (a small demo CRM with planted
injections) is built in a temporary directory each run; --keep leaves it for inspection.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

SERVER_FILE = Path(__file__).resolve().parents[2] / "tests" / "assistant" / "openai_server.py"


def scripted_server_class():
    """The test suite's local OpenAI-protocol server (a dev tool: present in a source checkout only)."""
    if not SERVER_FILE.is_file():
        raise SystemExit(f"--model llm-scripted needs {SERVER_FILE} (run from a source checkout)")
    spec = importlib.util.spec_from_file_location("crm_probe_openai_server", SERVER_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ScriptedOpenAIServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.probes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--model", choices=["offline", "llm-scripted"], default="offline")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--category", action="append", choices=["scope", "injection", "masking", "writes"],
                        help="only this category (repeatable)")  # fmt: skip
    parser.add_argument("--only", nargs="*", help="only cases whose id starts with one of these")
    parser.add_argument("--customers", type=int, default=None, help="demo size (default 400)")
    parser.add_argument("--keep", action="store_true", help="keep the world's directory and print where it is")
    args = parser.parse_args(argv)

    from evals.probes import ProbeRun, build_world, load_cases, probe_environment, render, summary
    from evals.probes.world import PROBE_CUSTOMERS

    cases = load_cases()
    if args.category:
        cases = [c for c in cases if c.category in args.category]
    if args.only:
        cases = [c for c in cases if any(c.id.startswith(p) for p in args.only)]
    home = Path(tempfile.mkdtemp(prefix="crm-probes-"))
    server = scripted_server_class()().start() if args.model == "llm-scripted" else None
    started = time.perf_counter()
    try:
        with probe_environment(home, model=args.model, base_url=server.base_url if server else None):
            say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
            world = build_world(home, customers=args.customers or PROBE_CUSTOMERS, progress=say)
            outcomes = _run(ProbeRun(world, model=args.model, server=server), cases, quiet=args.json)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"world kept in {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    report = summary(outcomes, model=args.model, seconds=time.perf_counter() - started)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render(report))
    return 1 if report["leaks"] or report["failures"] else 0


def _run(run, cases, *, quiet: bool):
    if quiet:
        return run.run(cases)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("probing", total=len(cases))
        return run.run(cases, progress=lambda _o: bar.advance(task))


if __name__ == "__main__":
    sys.exit(main())
