"""The ``gapkit`` command line.

``gapkit run`` executes the notebook suite into a report folder; ``gapkit kpis`` prints the
current-state KPI table of a data folder.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from gapkit.errors import GapkitError

DATA_HELP = ("folder of input tables, or a database: postgresql://user@host:5432/db?schema=s (password from "
             "PGPASSWORD or ~/.pgpass), sqlite:///file.db, duckdb:///file.duckdb")


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    __version__ = version("gapkit")
    parser = argparse.ArgumentParser(prog="gapkit", description="Gap analysis of post-sale follow-up.")
    parser.add_argument("--version", action="version", version=f"gapkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("kpis", help="print the current-state KPI table of a data folder or database")
    show.add_argument("--data", required=True, help=DATA_HELP)
    show.add_argument("--as-of", required=True, help="report date, YYYY-MM-DD; later events are ignored")
    show.add_argument("--by", nargs="*", default=None,
                      help="segment columns (default: the customers' attributes and channels the data holds)")
    show.add_argument("--period", choices=["M", "none"], default="none", help="M adds calendar months")
    show.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas")
    show.add_argument("--out", help="also write the table to this CSV file")
    show.add_argument("--config", help="gapkit.yml whose params, business_hours and columns to use (windows, the "
                                       "support team's schedule for the *_bh KPIs, the data's names for columns)")
    run_parser = commands.add_parser("run", help="run the notebook suite and publish the report")
    run_parser.add_argument("--config", help="gapkit.yml (default: ./gapkit.yml when it exists)")
    run_parser.add_argument("--data", help=f"{DATA_HELP} (overrides the config)")
    run_parser.add_argument("--as-of", help="report date YYYY-MM-DD (overrides the config)")
    run_parser.add_argument("--out", help="report folder (default reports/<as_of>)")
    run_parser.add_argument("--keep-code", action="store_true", help="show code cells in the HTML reports")
    run_parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    copy = commands.add_parser("notebooks",
                               help="copy the notebook suite into a folder, set to your data, for JupyterLab")
    copy.add_argument("folder", help="where to put the notebooks")
    copy.add_argument("--data", required=True, help=DATA_HELP)
    copy.add_argument("--as-of", help="report date YYYY-MM-DD (default: the last complete day in the orders)")
    copy.add_argument("--config", help="gapkit.yml to use (default: none)")
    copy.add_argument("--force", action="store_true", help="overwrite notebooks already in the folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if args.command == "run":
        return _run(args)
    if args.command == "notebooks":
        return _notebooks(args)
    return _kpis(args)


def _notebooks(args) -> int:
    from gapkit.config import parse_date
    from gapkit.pipeline.lab import copy_notebooks

    try:
        as_of = parse_date(args.as_of, "--as-of") if args.as_of else None
        written = copy_notebooks(args.folder, args.data, as_of=as_of, config=args.config, force=args.force)
    except GapkitError as err:
        print(f"gapkit notebooks: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} notebooks to {Path(args.folder).resolve()}; open them with "
          f"`jupyter lab {args.folder}`. They write to {Path(args.folder).resolve() / 'reports' / 'interactive'}.")
    from gapkit.contract._database import redact

    if redact(args.data) != args.data:  # a URL with a password: the notebooks name it without
        print(f"the notebooks read {redact(args.data)}: set PGPASSWORD or write the password in ~/.pgpass for "
              f"JupyterLab (gapkit never writes it into a file)")
    return 0


def _kpis(args) -> int:
    from gapkit.contract.loading import load
    from gapkit.measure.engine import kpis
    from gapkit.report.adapt import segment_columns

    try:
        settings = None
        if args.config:
            from gapkit.config import read

            settings = read(args.config)
        segments = args.by if args.by is not None else (settings.segments if settings else None)
        # a database sends the segment columns asked for, and no event after the report date
        data = load(args.data, columns=settings.columns if settings else None, as_of=args.as_of, extra=segments or ())
        table = kpis(
            data,
            as_of=args.as_of,
            by=segment_columns(data, segments),
            period=None if args.period == "none" else "M",
            engine=args.engine,
            params=settings.params if settings else None,
        )
    except GapkitError as err:
        print(f"gapkit: {err}", file=sys.stderr)
        return 2
    print(f"Input rows per table ({data.source}):")
    print(data.counts.to_string(index=False))
    print()
    print(f"KPIs as of {args.as_of} (95% CIs; small_n = too few units for a reliable interval):")
    overall = table[(table["period"] == "all") & (table["segment_by"] == "all")]
    print(format_table(overall).to_string(index=False))
    for column in [c for c in table["segment_by"].unique() if c != "all"]:
        rows = table[(table["period"] == "all") & (table["segment_by"] == column)]
        print(f"\nBy {column}:")
        print(format_table(rows).to_string(index=False))
    for kpi_id, reason in table.attrs.get("skipped", {}).items():
        print(f"  skipped {kpi_id}: {reason}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"\nwrote {len(table)} rows (all segments) to {args.out}")
    return 0


class Stopped(KeyboardInterrupt):
    """SIGTERM, unwound as Ctrl-C is.

    Not KeyboardInterrupt itself: CPython remembers a KeyboardInterrupt of exactly that type
    that leaves code run through its ``PyRun_*`` functions and, at exit, kills the process with
    SIGINT even when the program caught it; a subclass is not remembered (both checked with
    ``ctypes.pythonapi.PyRun_SimpleString``). Stopped in the load step, 9 of 39 runs exited
    by SIGINT instead of with 130 (which library runs code that way there was not found);
    with this class, 39 of 39 exited with 130.
    """


def _run(args) -> int:
    if args.data and not _has_orders(args.data):
        # answered before the notebook machinery is imported (about a second of start-up)
        print(f"gapkit run failed: {args.data}: no orders.csv or orders.parquet; gapkit run needs at least the "
              f"orders table.", file=sys.stderr)
        return 1
    from gapkit import config as configuration
    from gapkit.pipeline.runner import run

    def stop(signum, frame):  # SIGTERM unwinds like Ctrl-C, so the run cleans its staging folder up
        raise Stopped(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        path = args.config or _local_config(args.data)
        settings = configuration.read(path, data=args.data, out=args.out)
        if args.as_of:
            settings = settings.replace(as_of=configuration.parse_date(args.as_of, "--as-of"))
        run(settings, keep_code=args.keep_code, progress=lambda line: print(line, flush=True))
    except GapkitError as err:
        if args.debug:
            raise
        print(f"gapkit run failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        from gapkit.pipeline.runner import Interrupted

        if isinstance(err, Interrupted):  # the runner knows what it had published when stopped
            print(f"gapkit run interrupted: {err}.", file=sys.stderr)
        else:  # stopped before the run began: nothing was written
            print(f"gapkit run interrupted ({err or 'Ctrl-C'}) before it began; nothing was written.",
                  file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _has_orders(data: str) -> bool:
    """Whether the folder ``data`` holds an orders file; a database (a URL, or a SQLite or DuckDB
    file) is asked later, by the run, so it passes here."""
    from gapkit.contract._database import is_database

    return is_database(data) or any((Path(data) / f"orders.{ext}").exists() for ext in ("csv", "parquet"))


def _local_config(data: str | None) -> str | None:
    """./gapkit.yml when it is about the data being run: its goals and columns describe its own
    ``data`` folder, so pointing --data at another folder without --config leaves it out."""
    from gapkit import config as configuration
    from gapkit.contract._database import redact

    local = Path("gapkit.yml")
    if not local.exists():
        return None
    if data is not None:
        from gapkit.contract.loading import source_label

        own = configuration.read(local).data
        # a URL is compared without its password and never resolved as a path
        if source_label(own) != source_label(data):
            print(f"not using ./gapkit.yml: it describes {redact(own)}, not {redact(data)} (pass --config gapkit.yml "
                  f"to use it)", flush=True)
            return None
    return str(local)


def format_table(table):
    """Round for display only: values to 3 significant places, shares as they are."""
    import pandas as pd

    shown = table[["kpi", "segment_by", "segment", "n", "value", "ci_low", "ci_high", "unit", "better"]].copy()
    for column in ("value", "ci_low", "ci_high"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    return shown


if __name__ == "__main__":
    sys.exit(main())
