"""Time each analysis the report notebooks call, one after another in one process, on generated data.

Loads ``benchmarks/data/<size>/parquet`` (see bench_kpis.py), then times, as the notebooks call
them with the root gapkit.yml: the KPI table and current levels, alerts, retention, key drivers,
the SMART check, gaps, the importance-performance chart, the journey, comment sentiment (table
and KPI), the action plan, impact and cost-benefit. Prints wall and CPU seconds of each call.
CPU seconds move less than wall seconds when other work shares the machine.

To compare two versions of gapkit, run it once per checkout, each in a fresh process::

    python benchmarks/analyses.py --size 1000000 --json /tmp/after.json
    git worktree add /tmp/before <rev> && PYTHONPATH=/tmp/before python benchmarks/analyses.py --json /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_kpis import ensure_data  # noqa: E402

import gapkit  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="number of orders")
    ap.add_argument("--as-of", default="2025-06-30")
    ap.add_argument("--engine", default="duckdb", help="engine of the KPI table and current levels")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    from gapkit import adapt, impact, money

    _, parquet = ensure_data(args.size)
    settings = gapkit.config.read(HERE.parent / "gapkit.yml", data=str(parquet), as_of=args.as_of)
    times: list[tuple[str, float, float]] = []

    def timed(name, function, *a, **k):
        wall, cpu = time.perf_counter(), time.process_time()
        value = function(*a, **k)
        times.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        print(f"{name:<22} {times[-1][1]:7.2f} s wall {times[-1][2]:7.2f} s CPU", flush=True)
        return value

    load = os.getloadavg()
    data = timed("load (parquet)", gapkit.load, parquet)
    segments = adapt.segment_columns(data, settings.segments, settings.goals)
    table = timed("kpis", gapkit.kpis, data, as_of=settings.as_of, by=segments, period="M", params=settings.params,
                  engine=args.engine)
    current = timed("current_levels", gapkit.baseline.current_levels, data, settings.as_of, table, by=segments,
                    params=settings.params, months=settings.baseline_months, engine=args.engine)
    timed("alerts", gapkit.monitor.alerts, table, settings.as_of, settings.monitor, params=settings.params)
    timed("retention", gapkit.monitor.retention, data, settings.as_of, by=segments[:1],
          churn_days=settings.monitor.get("churn_days", 90))
    drivers = timed("key_drivers", adapt.key_drivers, data, settings.as_of, settings.driver_controls,
                    params=settings.params, seed=settings.seed)
    timed("smart", gapkit.goals.smart, settings.goals, table, settings.as_of, drivers=drivers.table, current=current)
    gaps = timed("gaps", gapkit.gaps.gaps, settings.goals, table, data=data, as_of=settings.as_of,
                 drivers=drivers.table, params=settings.params, current=current)
    targets = {goal.kpi: goal.target for goal in settings.goals if goal.segment_by == "all"}
    timed("importance_performance", gapkit.ipa.importance_performance, table, drivers.table, targets=targets)
    trip = timed("journey", gapkit.journey.journey, data, settings.as_of,
                 by=adapt.journey_by(data, settings.journey_by, segments), params=settings.params)
    comments = timed("sentiment", gapkit.text.sentiment, data["surveys"], language=settings.language)
    timed("sentiment_kpi", gapkit.text.sentiment_kpi, data, settings.as_of,
          by=adapt.columns_for(data, "surveys", segments), period="M")
    timed("action_plan", gapkit.actions.action_plan, gaps.table, table, drivers=drivers.table, journey=trip,
          comments=comments, valuation=list(settings.valuation), rule=gaps.rule, currency=settings.currency,
          as_of=settings.as_of, data=data, params=settings.params)
    effects = timed("impact", impact.measure, data, settings.as_of, list(settings.impact_kpis), params=settings.params)
    timed("cost_benefit", money.evaluate, effects, data, list(settings.valuation), settings.as_of,
          params=settings.params, seed=settings.seed, intangible_scores=list(settings.intangibles),
          currency=settings.currency)
    after = os.getloadavg()
    print(f"{'total':<22} {sum(t[1] for t in times):7.2f} s wall {sum(t[2] for t in times):7.2f} s CPU; "
          f"load average {load[0]:.2f} before, {after[0]:.2f} after")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "engine": args.engine, "loadavg": [load, after],
                                               "times": times}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
