"""`python -m evals` (also `crm eval`): score the assistant on the question set.

    python -m evals                      # offline router, table per persona and language
    python -m evals --json               # the full report as JSON (failures included)
    python -m evals --model openai:gpt-4o-mini
    python -m evals --check-baseline     # exit 1 if accuracy fell below evals/baseline.json
    python -m evals --write-baseline     # record this run as the new baseline
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="CRM_MODEL for this run: 'offline' (default) or 'openai:<model>'")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--customers", type=int, default=None, help="demo database size (default 3000)")
    parser.add_argument("--persona", choices=["rep", "manager", "support"], help="only this persona")
    parser.add_argument("--lang", choices=["en", "zh"], help="only this language")
    parser.add_argument("--only", nargs="*", help="only these question ids (prefix match)")
    parser.add_argument("--check-baseline", action="store_true", help="fail if below evals/baseline.json")
    parser.add_argument("--write-baseline", action="store_true", help="write this run to evals/baseline.json")
    parser.add_argument("--failures", action="store_true", help="list the failed questions after the table")
    args = parser.parse_args(argv)

    if args.model:
        os.environ["CRM_MODEL"] = args.model
    from assistant.settings import get_settings

    get_settings.cache_clear()
    from evals.fixtures import EVAL_CUSTOMERS
    from evals.questions import load_all
    from evals.report import BASELINE_PATH, baseline_from, breakdown, load_baseline, print_table, regressions

    items = load_all()
    if args.persona:
        items = [i for i in items if i.persona == args.persona]
    if args.lang:
        items = [i for i in items if i.lang == args.lang]
    if args.only:
        keep_dialogues = {i.dialogue for i in items if i.dialogue and any(i.id.startswith(p) for p in args.only)}
        items = [i for i in items if any(i.id.startswith(p) for p in args.only) or i.dialogue in keep_dialogues]
    customers = args.customers or EVAL_CUSTOMERS
    outcomes = _run_with_progress(items, customers=customers, quiet=args.json)
    report = breakdown(outcomes)
    report["model"] = get_settings().model_spec
    report["customers"] = customers
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report)
        if args.failures:
            for f in report["failures"]:
                print(f"- {f['id']} [{f['lang']}] {f['question']}\n    called {f['called']}\n    {f['reason']}")
    if args.write_baseline:
        BASELINE_PATH.write_text(json.dumps(baseline_from(report, load_baseline()), indent=2) + "\n", encoding="utf-8")
    if args.check_baseline:
        problems = regressions(report, load_baseline())
        if problems:
            print("below the baseline:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
    return 0


def _run_with_progress(items, *, customers: int, quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals.runner import run

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=quiet) as bar:  # fmt: skip
        task = bar.add_task("evals", total=len(items))

        def tick(done: int, total: int, outcome) -> None:
            bar.update(task, completed=done, description=f"evals ({outcome.item.id})")

        def status(message: str) -> None:
            bar.update(task, description=message)

        return run(items, customers=customers, progress=tick, status=status)


if __name__ == "__main__":
    raise SystemExit(main())
