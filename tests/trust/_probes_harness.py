"""Shared pieces of the probe-suite tests (not collected: no test_ prefix).

The world (a 400-customer demo with planted injections, indexed in Chroma) is built once
per test module; each category then runs inside ``probe_environment`` so the settings of
the per-test CRM_HOME do not leak into it.
"""

from __future__ import annotations

from pathlib import Path

from evals.probes import ProbeRun, World, build_world, load_cases, probe_environment, render, summary


def build(tmp_path_factory) -> World:
    home: Path = tmp_path_factory.mktemp("probes")
    with probe_environment(home):
        return build_world(home)


def run_category(run: ProbeRun, category: str, *, base_url: str | None = None) -> dict:
    import time

    cases = [c for c in load_cases() if c.category == category]
    started = time.perf_counter()
    with probe_environment(run.world.home, model=run.model, base_url=base_url):
        outcomes = run.run(cases)
    return summary(outcomes, model=run.model, seconds=time.perf_counter() - started)


def report_and_assert(report: dict, capsys) -> None:
    text = render(report)
    with capsys.disabled():
        print("\n" + text)
    assert report["cases"] > 0
    assert report["leaks"] == 0, text
    assert report["failures"] == 0, text
