"""``python -m gapkit.sample``: generate the synthetic tables into a folder."""

from __future__ import annotations

import argparse
import sys
import time

from gapkit.sample.files import write
from gapkit.sample.simulate import generate


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m gapkit.sample --out DIR [--orders N] [--seed S] ...``.

    Examples
    --------
    >>> main(["--out", "/tmp/gapkit-sample", "--orders", "300"])  # doctest: +SKIP
    """
    ap = argparse.ArgumentParser(prog="python -m gapkit.sample",
                                 description="Generate synthetic gapkit input tables.")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--orders", type=int, default=4000, help="number of orders (4000)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (7)")
    ap.add_argument("--start", default="2024-01-01", help="first day (2024-01-01)")
    ap.add_argument("--end", default="2025-06-30", help="last day (2025-06-30)")
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt")
    ap.add_argument("--no-bad-rows", action="store_true",
                    help="do not append the planted rule-breaking rows")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tables = generate(args.orders, args.seed, args.start, args.end,
                      bad_rows=not args.no_bad_rows)
    params = {"n_orders": args.orders, "seed": args.seed, "start": args.start,
              "end": args.end, "bad_rows": not args.no_bad_rows}
    paths = write(tables, args.out, args.fmt, params=params)
    dt = time.perf_counter() - t0
    for p in paths:
        rows = f"{len(tables[p.stem]):>9,} rows" if p.stem in tables else ""
        print(f"{p}  {rows}")
    print(f"done in {dt:.1f} s", file=sys.stderr)
    return 0
