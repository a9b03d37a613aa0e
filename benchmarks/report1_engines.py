"""Report 1's KPI work on each engine: what the configuration's ``engine`` key changes.

Times the two calls notebook 01 makes on the engine (``gapkit.kpis`` by the segment columns,
per month, and ``gapkit.baseline.current_levels``), with gapkit.yml's parameters, on the
benchmark data of ``bench_kpis.py``. Each engine runs in a fresh process: a DuckDB call hands
its memory back to the system and a pandas call after it pays to fault it in again.

    .venv/bin/python benchmarks/report1_engines.py --sizes 100000 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def time_engine(size: int, engine: str, repeats: int) -> list[float]:
    """Seconds of each repeat of report 1's two calls, in this process."""
    from bench_kpis import ensure_data

    import gapkit
    from gapkit import config
    from gapkit.report import adapt

    settings = config.read(HERE.parent / "gapkit.yml")
    data = gapkit.load(ensure_data(size)[1], earliest=settings.earliest)
    segments = adapt.segment_columns(data, settings.segments)
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        started = time.perf_counter()
        table = gapkit.kpis(data, as_of=settings.as_of, by=segments, period="M", params=settings.params,
                            engine=engine)
        gapkit.baseline.current_levels(data, settings.as_of, table, by=segments, params=settings.params,
                                       months=settings.baseline_months, engine=engine)
        times.append(time.perf_counter() - started)
    return times[1:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="numbers of orders")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(time_engine(int(args.child[0]), args.child[1], args.repeats)))
        return 0
    print(f"{'orders':>10}  {'engine':<7} {'median s':>9} {'min s':>7} {'max s':>7}  load")
    for size in args.sizes:
        for engine in ("pandas", "duckdb"):
            before = os.getloadavg()[0]
            done = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--child", str(size),
                                   engine], capture_output=True, text=True, check=True)
            times = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{size:>10,}  {engine:<7} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}"
                  f"  {before:.1f}-{os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
