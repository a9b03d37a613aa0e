"""``gapkit run`` from PostgreSQL against the same run from a Parquet folder (issue 31).

Starts a throwaway PostgreSQL server (as the tests do, ``tests/_postgres.py``: a cluster in a
temporary folder, fsync off, removed at the end), loads a folder of contract tables into it with
ADBC's bulk ingest (PostgreSQL's binary COPY), and writes the same typed tables as Parquet. Then
each of these runs in a fresh process, in turn from the database and from the Parquet folder:

* ``load``: ``gapkit.load(source, as_of=..., extra=<the configuration's segment columns>)`` alone,
  ``--repeats`` times each, alternating;
* ``run``: ``gapkit run --config <config> --data <source> --as-of ... --out <tmp>``, ``--runs``
  times each (the order alternating; none with ``--load-only``); its ``timings['load']`` is the
  load step (read, check, write the checked tables as Parquet).

For each: wall time, and the peak resident memory of the process (its ``ru_maxrss``) and of the
processes it started and waited for (the notebook kernel: ``RUSAGE_CHILDREN``), with the load
averages (1/5/15 min) before and after. The server reads on the same machine, so its CPU time is
part of the database figures (its memory is not).

Usage::

    python benchmarks/run_from_database.py --data sample                  # data/sample, about 3 minutes
    python benchmarks/run_from_database.py --data 1000000 --engine duckdb # benchmarks/data/1000000, 10 minutes
    python benchmarks/run_from_database.py --data 1000000 --load-only --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def source_tables(data: str) -> dict:
    """The contract tables of ``data`` ("sample", a size of benchmarks/data, or a folder) as typed
    Arrow tables: a Parquet folder as it is, CSV files typed as a database holds them."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "tests"))
    from _postgres import sample_tables

    if data == "sample":
        return sample_tables(ROOT / "data" / "sample")
    folder = HERE / "data" / data / "parquet" if data.isdigit() else Path(data)
    if data.isdigit() and not folder.exists():
        sys.path.insert(0, str(HERE))
        from bench_kpis import ensure_data

        ensure_data(int(data))
    if not list(folder.glob("*.parquet")):
        return sample_tables(folder)
    from gapkit.contract.schema import TABLES

    return {p.stem: pq.read_table(p) for p in sorted(folder.glob("*.parquet")) if p.stem in TABLES}


def child(mode: str, source: str, as_of: str, config: str, out: str) -> dict:
    """One measurement, in this (fresh) process."""
    from gapkit import config as configuration
    from gapkit.report.adapt import named_columns

    settings = configuration.read(config, data=source, as_of=as_of, out=out or None)
    started = time.perf_counter()
    if mode == "load":
        import gapkit

        data = gapkit.load(source, as_of=as_of, extra=[c for _, c in named_columns(settings)])
        figures = {"rows": int(data.counts["input_rows"].sum())}
    else:
        from gapkit.pipeline import runner

        figures = {"timings": runner.run(settings, progress=lambda line: None).timings}
    figures["wall_s"] = round(time.perf_counter() - started, 2)
    figures["maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["children_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return figures


def measure(mode: str, source: str, label: str, args, env: dict) -> dict:
    import shutil

    scratch = tempfile.mkdtemp(prefix="gapkit-db-bench-")
    out = f"{scratch}/report" if mode == "run" else ""
    before = loadavg()
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "--child", mode, "--source", source, "--as-of", args.as_of,
                               "--config", args.config, "--out", out], capture_output=True, text=True, env=env,
                              cwd=ROOT)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"{label} {mode} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures |= {"source": label, "mode": mode, "process_s": round(time.perf_counter() - started, 2),
                "loadavg_before": before, "loadavg_after": loadavg()}
    print(json.dumps(figures), flush=True)
    return figures


def config_file(engine: str | None) -> str:
    """gapkit.yml, or a copy with its engine key set (the notebooks read the file)."""
    config = ROOT / "gapkit.yml"
    if not engine:
        return str(config)
    text = re.sub(r"^engine:.*$", "", config.read_text(encoding="utf-8"), flags=re.MULTILINE)
    copy = Path(tempfile.gettempdir()) / f"gapkit-db-bench-{os.getpid()}.yml"
    copy.write_text(text + f"\nengine: {engine}\n", encoding="utf-8")
    return str(copy)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="sample", help="sample, a size in benchmarks/data (1000000), or a folder")
    ap.add_argument("--as-of", default="2025-06-30")
    ap.add_argument("--engine", choices=["pandas", "duckdb", "polars"], help="engine key (default: gapkit.yml's)")
    ap.add_argument("--repeats", type=int, default=3, help="load-alone measurements per source")
    ap.add_argument("--runs", type=int, default=1, help="whole runs per source (alternating which goes first)")
    ap.add_argument("--load-only", action="store_true", help="measure the load alone, not whole runs")
    ap.add_argument("--json", metavar="FILE", help="also save every figure as JSON")
    ap.add_argument("--child", choices=["load", "run"], help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--config", default=str(ROOT / "gapkit.yml"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.source, args.as_of, args.config, args.out)))
        return 0
    args.config = config_file(args.engine)
    sys.path.insert(0, str(ROOT / "tests"))
    import _postgres
    import pyarrow.parquet as pq

    tables = source_tables(args.data)
    rows = sum(t.num_rows for t in tables.values())
    print(f"{args.data}: {tables['orders'].num_rows:,} orders, {rows:,} rows in {len(tables)} tables; "
          f"load average {loadavg()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="gapkit-db-bench-"))
    server = _postgres.start(folder)
    results = {"data": args.data, "orders": tables["orders"].num_rows, "rows": rows, "engine": args.engine,
               "figures": []}
    try:
        before, started = loadavg(), time.perf_counter()
        _postgres.write_postgres(server, "bench", tables)
        server.admin("VACUUM ANALYZE")
        results["ingest"] = {"seconds": round(time.perf_counter() - started, 2), "loadavg_before": before,
                             "loadavg_after": loadavg()}
        print(f"ingest into PostgreSQL (ADBC, binary COPY; then VACUUM ANALYZE): {results['ingest']}", flush=True)
        parquet = folder / "parquet"
        parquet.mkdir()
        for name, table in tables.items():
            pq.write_table(table, parquet / f"{name}.parquet")
        sources = {"postgresql": server.url(password=False, schema="bench"), "parquet": str(parquet)}
        env = {**os.environ, "PGPASSWORD": server.password, "OPENBLAS_NUM_THREADS": "1"}
        for _ in range(args.repeats):
            for label, source in sources.items():
                results["figures"].append(measure("load", source, label, args, env))
        for round_ in range(0 if args.load_only else args.runs):
            # every other round the other source first, so that neither always runs on a warmer machine
            for label, source in list(sources.items())[::1 if round_ % 2 == 0 else -1]:
                results["figures"].append(measure("run", source, label, args, env))
    finally:
        _postgres.stop(server)
        if args.engine:
            Path(args.config).unlink(missing_ok=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
