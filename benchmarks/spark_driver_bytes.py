"""What the Spark engine brings back to the driver: rows and bytes of every collect of report 1's
KPI work (issue 30, item 4).

Report 1 computes ``gapkit.kpis`` (its segment columns, by month) and
``gapkit.baseline.current_levels`` on the configured engine. On Spark, the engine's definitions
and aggregations run in the session, and the driver receives only what the engine collects:
the aggregated rows of each KPI, for a median also the rows ranked near the middle of each
group, and a few scalars (the first ticket, the orders' statuses, whether promises are whole
days). This script counts them: every narwhals ``collect`` of a Spark frame during the two
calls is recorded here (the library is not changed), with the rows and the pandas size
(``memory_usage(deep=True)``) of what came back, by the function that asked for it.

The tables are read by Spark from checked Parquet files, as in a run (a ``StoredTables``
mapping): the sample (``gapkit.datasets.sample()``) or ``benchmarks/data/<size>/parquet``,
checked by ``gapkit.load`` and written to a temporary folder first.

Usage::

    python benchmarks/spark_driver_bytes.py --size 0          # the sample (data/sample)
    python benchmarks/spark_driver_bytes.py --size 1000000    # benchmarks/data/1000000/parquet
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import narwhals as nw
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

import gapkit  # noqa: E402
import gapkit.config  # noqa: E402
from gapkit.contract._stored import StoredTables  # noqa: E402
from gapkit.report import adapt  # noqa: E402

#: (phase, caller) -> [collects, rows, bytes]
RECORD: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
PHASE = ["setup"]


def _size(frame) -> tuple[int, int]:
    native = frame.to_native()
    table = native if isinstance(native, pd.DataFrame) else frame.to_pandas()
    return len(table), int(table.memory_usage(index=True, deep=True).sum())


def instrument() -> None:
    """Count every collect of a Spark-backed narwhals frame (rows and pandas bytes, by caller)."""
    original = nw.LazyFrame.collect

    def collect(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if self.implementation.is_spark_like():
            caller = sys._getframe(1).f_code.co_name
            rows, size = _size(out)
            entry = RECORD[(PHASE[0], caller)]
            entry[0] += 1
            entry[1] += rows
            entry[2] += size
        return out

    nw.LazyFrame.collect = collect


def stored_data(size: int) -> gapkit.Data:
    """The checked tables of the sample or of ``size`` orders, kept as Parquet as a run keeps them."""
    data = gapkit.datasets.sample() if size == 0 else gapkit.load(HERE / "data" / str(size) / "parquet")
    folder = Path(tempfile.mkdtemp(prefix="gapkit-spark-bytes-"))
    for name, frame in data.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return dataclasses.replace(data, tables=StoredTables({name: folder / f"{name}.parquet" for name in data}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=0, help="orders (0: the sample, data/sample)")
    ap.add_argument("--master", default="local[*]", help="Spark master of the local session")
    ap.add_argument("--json", metavar="FILE", help="also save the figures as JSON")
    args = ap.parse_args(argv)

    config = gapkit.config.read(ROOT / "gapkit.yml", data=str(ROOT / "data" / "sample"))
    data = stored_data(args.size)
    session = gapkit.spark.local_session(args.master)
    session.sparkContext.setLogLevel("ERROR")
    segments = adapt.segment_columns(data, config.segments, config.goals)
    instrument()
    seconds, tables = {}, {}
    loaded_before = data.tables.loaded  # segment_columns reads customers in pandas, as notebook 01 does
    for phase in ("kpis", "current_levels"):
        PHASE[0] = phase
        started = time.perf_counter()
        if phase == "kpis":
            result = gapkit.kpis(data, as_of=config.as_of, by=segments, period="M", params=config.params,
                                 engine="spark")
            monthly = result
        else:
            result = gapkit.baseline.current_levels(data, config.as_of, monthly, by=segments, params=config.params,
                                                    months=config.baseline_months, engine="spark")
        seconds[phase] = time.perf_counter() - started
        tables[phase] = (len(result), int(result.memory_usage(index=True, deep=True).sum()))
    assert data.tables.loaded == loaded_before, "the Spark engine read a table's pandas copy"

    orders = len(pd.read_parquet(data.tables.paths["orders"], columns=["order_id"]))
    print(f"{orders:,} orders, by {segments} and month, Spark {session.version} {args.master}; "
          f"load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| call | asked by | collects | rows | bytes (pandas, deep) |\n|---|---|---:|---:|---:|")
    figures = []
    for (phase, caller), (count, rows, size) in sorted(RECORD.items()):
        figures.append({"phase": phase, "caller": caller, "collects": count, "rows": rows, "bytes": size})
        print(f"| {phase} | {caller} | {count} | {rows:,} | {size:,} |")
    for phase in ("kpis", "current_levels"):
        mine = [f for f in figures if f["phase"] == phase]
        rows, size = sum(f["rows"] for f in mine), sum(f["bytes"] for f in mine)
        print(f"| **{phase}, all** | | **{sum(f['collects'] for f in mine)}** | **{rows:,}** | **{size:,}** |")
    print()
    for phase in ("kpis", "current_levels"):
        print(f"{phase}: {seconds[phase]:.1f} s; its result {tables[phase][0]:,} rows, {tables[phase][1]:,} bytes")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "orders": orders, "segments": segments, "master": args.master, "collects": figures,
            "seconds": seconds, "results": tables, "loadavg_after": os.getloadavg()}, indent=1) + "\n")
    session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
