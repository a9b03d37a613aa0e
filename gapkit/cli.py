"""The ``gapkit`` command line.

``gapkit kpis`` prints the current-state KPI table of a data folder (what ``make report`` runs
until the notebook suite lands as ``gapkit run``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from gapkit.errors import GapkitError
from gapkit.kpis import kpis
from gapkit.load import load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gapkit", description="Gap analysis of post-sale follow-up.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("kpis", help="print the current-state KPI table of a data folder")
    show.add_argument("--data", default="data/sample", help="folder of input tables (default: data/sample)")
    show.add_argument("--as-of", required=True, help="report date, YYYY-MM-DD; later events are ignored")
    show.add_argument("--by", nargs="*", default=["segment", "channel"], help="segment columns")
    show.add_argument("--period", choices=["M", "none"], default="none", help="M adds calendar months")
    show.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas")
    show.add_argument("--out", help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        data = load(args.data)
        table = kpis(
            data,
            as_of=args.as_of,
            by=args.by,
            period=None if args.period == "none" else "M",
            engine=args.engine,
        )
    except GapkitError as err:
        print(f"gapkit: {err}", file=sys.stderr)
        return 2
    print(f"Input rows per table ({args.data}):")
    print(data.counts.to_string(index=False))
    print()
    print(f"KPIs as of {args.as_of} (95% CIs; small_n = too few units for an interval):")
    overall = table[(table["period"] == "all") & (table["segment_by"] == "all")]
    print(format_table(overall).to_string(index=False))
    for kpi_id, reason in table.attrs.get("skipped", {}).items():
        print(f"  skipped {kpi_id}: {reason}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"\nwrote {len(table)} rows (all segments) to {args.out}")
    return 0


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Round for display only: values to 3 significant places, shares as they are."""
    shown = table[["kpi", "segment_by", "segment", "n", "value", "ci_low", "ci_high", "unit", "better"]].copy()
    for column in ("value", "ci_low", "ci_high"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    return shown


if __name__ == "__main__":
    sys.exit(main())
