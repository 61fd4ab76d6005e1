"""Benchmark: the predictive models (churn, CLV, association rules) on the real datasets.

Each line prints a measured figure beside a baseline measured in the same run, and
their ratio:

- CDNOW: our fit (database read, per-day summary, BG/NBD + Gamma-Gamma with the
  penalizer ladder) vs lifetimes' textbook route on the same file (CSV read,
  ``summary_data_from_transaction_data``, the same two fits); parameters side by side;
- Online Retail churn back-test at 2011-09-10, 90 days: the model's out-of-time AUC
  vs the BG/NBD and log-RFM logistic baselines (same run), and its wall time;
- Online Retail France rules: FP-growth (what the tool uses) vs apriori on the same baskets;
- refresh phases on a demo book (``CRM_BENCH_CUSTOMERS``, default 100,000, shared
  with the tools bench cache): ``compute_churn_scores`` cold (training) and warm
  (cached model), ``compute_clv`` cold, each vs reading the orders once (the floor).

The real databases are imported once into ``CRM_BENCH_CACHE`` (default
~/.cache/crm-assistant/bench) and reused. Skips a section when its data is missing.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

CUTOFF = datetime(2011, 9, 10)


def _cache_dir() -> Path:
    root = os.environ.get("CRM_BENCH_CACHE") or Path.home() / ".cache" / "crm-assistant" / "bench"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _imported(kind: str, source: Path) -> str:
    """A migrated SQLite file holding one dataset, imported once (keyed by the file's size and mtime)."""
    from storage.importers import import_cdnow, import_online_retail
    from storage.migrate import upgrade

    stat = source.stat()
    final = _cache_dir() / f"predictive-{kind}-{stat.st_size}-{int(stat.st_mtime)}.sqlite3"
    if not final.exists():
        building = final.with_suffix(".building.sqlite3")
        building.unlink(missing_ok=True)
        upgrade(f"sqlite:///{building}")
        started = time.perf_counter()
        {"online_retail": import_online_retail, "cdnow": import_cdnow}[kind](source, url=f"sqlite:///{building}")
        print(f"  (imported {source.name} once in {time.perf_counter() - started:.1f} s)")
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
        building.rename(final)
    url = f"sqlite:///{final}"
    upgrade(url)
    return url


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def _best_of(n: int, fn):
    """Fastest of n runs: the first also pays one-off costs (imports, first connection)."""
    runs = [_timed(fn) for _ in range(n)]
    return runs[-1][0], min(t for _, t in runs)


def _line(label: str, ours: float, base: float, unit: str = "s") -> None:
    ratio = ours / base if base else float("nan")
    print(f"  {label:<52} {ours:9.3f} {unit}  baseline {base:9.3f} {unit}  ratio {ratio:6.2f}x")


def bench_cdnow(root: Path) -> None:
    import pandas as pd

    from storage.db import engine_for
    from tools.clv_model import fit_bgnbd, fit_gamma_gamma, lifetimes
    from tools.clv_scores import fit_clv_models

    source = root / "cdnow" / "CDNOW_sample.txt"
    if not source.exists():
        print(f"cdnow: skipped ({source} missing)")
        return
    url = _imported("cdnow", source)
    lifetimes()  # import it (~2 s) before either timing starts
    import tools.order_frames as order_cache

    def ours_fit():
        order_cache._CACHE.clear()  # every run reads the orders again
        return fit_clv_models(engine_for(url), calibration_end=date(1997, 9, 30), unit="week")

    (fit, _, _), ours = _best_of(3, ours_fit)

    def textbook():
        tx = pd.read_csv(source, sep=r"\s+", header=None, names=["master", "id", "date", "cds", "amount"], dtype={"date": str})
        tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
        summary = lifetimes().utils.summary_data_from_transaction_data(
            tx, "id", "date", monetary_value_col="amount", observation_period_end="1997-09-30", freq="D", freq_multiplier=7)
        summary = summary.rename(columns={"monetary_value": "monetary"})
        return fit_bgnbd(summary).params, fit_gamma_gamma(summary).params

    (bg, gg), base = _best_of(3, textbook)
    print("cdnow (CDNOW_sample, calibration end 1997-09-30, weeks):")
    _line("fit via the database vs lifetimes' CSV route (best of 3)", ours, base)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.45}
    got = {**fit.bgnbd, **fit.gamma_gamma}
    print("  parameters: " + ", ".join(
        f"{k} {got[k]:.4f} ({100 * (got[k] - v) / v:+.2f}% vs published {v})" for k, v in published.items()))


def bench_retail(root: Path) -> None:
    from storage.db import engine_for
    from tools.association_rules import BasketFilter, load_baskets, mine_rules
    from tools.churn_backtest import backtest_churn

    source = root / "online_retail" / "online_retail.csv.gz"
    if not source.exists():
        print(f"online retail: skipped ({source} missing)")
        return
    url = _imported("online_retail", source)
    engine = engine_for(url)
    with tempfile.TemporaryDirectory(prefix="crm-predictive-bench-") as home:
        os.environ["CRM_HOME"] = home  # fitted models land in a scratch directory
        from storage.settings import get_settings

        get_settings.cache_clear()
        result, seconds = _timed(lambda: backtest_churn(engine, cutoff=CUTOFF, horizon_days=90))
    print(f"online retail churn back-test (cut-off {CUTOFF.date()}, 90 days; {result.customers:,} customers, "
          f"churn rate {result.churn_rate:.1%}; {seconds:.1f} s incl. 5-fold CV):")
    for name in ("bgnbd", "logistic_rfm", "recency"):
        _line(f"AUC model vs {name}", result.auc, result.baselines[name], unit="  ")
    print(f"  AUC 5-fold CV on the cut-off snapshot (comparison only): {result.auc_cv:.4f}; issue target 0.76")

    baskets = load_baskets(engine, where=BasketFilter(country="France"))
    fp, fp_s = _timed(lambda: mine_rules(baskets, min_support=0.07, algorithm="fpgrowth"))
    ap, ap_s = _timed(lambda: mine_rules(baskets, min_support=0.07, algorithm="apriori"))
    print(f"online retail France rules ({baskets['order_id'].nunique()} baskets, min support 0.07; "
          f"{len(fp)} rules, apriori {len(ap)}):")
    _line("FP-growth vs apriori", fp_s, ap_s)


def bench_refresh_phases() -> None:
    from storage.db import engine_for
    from tools.cadence import revenue_orders
    from tools.churn_scores import compute_churn_scores
    from tools.clv_scores import compute_clv
    from tools.order_frames import load_orders

    try:
        from evals.bench.tools_bench import NOW, demo_database
    except ImportError:
        print("refresh phases: skipped (tools bench helpers missing)")
        return
    customers = int(os.environ.get("CRM_BENCH_CUSTOMERS", "100000"))
    engine = engine_for(demo_database(customers))
    with tempfile.TemporaryDirectory(prefix="crm-predictive-bench-") as home:
        os.environ["CRM_HOME"] = home
        from storage.settings import get_settings

        get_settings.cache_clear()
        import tools.churn_scores as churn_cache
        import tools.clv_scores as clv_cache
        import tools.order_frames as order_cache

        _, floor = _timed(lambda: revenue_orders(engine, now=NOW))
        orders, read = _timed(lambda: load_orders(engine, before=NOW))
        order_cache._CACHE.clear()  # each "cold" figure below includes its own read of the orders
        scores, cold = _timed(lambda: compute_churn_scores(engine, now=NOW))
        churn_cache._SCORES.clear()  # the fitted model stays on disk: this is a refresh on unchanged data
        order_cache._CACHE.clear()
        _, warm = _timed(lambda: compute_churn_scores(engine, now=NOW))
        order_cache._CACHE.clear()
        clv_cache._SCORES.clear()
        clv, clv_s = _timed(lambda: compute_clv(engine, now=NOW))
    print(f"refresh phases on the {customers:,}-customer demo ({len(orders):,} orders, {len(scores):,} scored):")
    _line("order read for the models vs cadence's read", read, floor)
    _line("churn scores, cold (read + train + score) vs one read", cold, floor)
    _line("churn scores, warm (cached model) vs one read", warm, floor)
    _line(f"CLV, cold (read + fit + score {len(clv):,}) vs one read", clv_s, floor)


def main() -> None:
    root = os.environ.get("CRM_DATASETS")
    if root:
        bench_cdnow(Path(root))
        bench_retail(Path(root))
    else:
        print("predictive bench: real-data sections skipped (CRM_DATASETS is not set)")
    bench_refresh_phases()


if __name__ == "__main__":
    main()
