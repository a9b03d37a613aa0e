"""Where ``gapkit.load(csv_folder)`` spends its time: per table and per phase, then cProfile.

    .venv/bin/python benchmarks/profile_load.py                      # the 1M folder, 3 timed runs
    .venv/bin/python benchmarks/profile_load.py --folder data/sample --runs 5
    .venv/bin/python benchmarks/profile_load.py --cprofile 40        # also cProfile's top 40 (tottime, cumulative)

First, round robin in the same process: the bare ``pandas.read_csv`` of every file in the
folder, the text read alone (``read_text_csv`` of every file) and ``gapkit.load``, with the
1-minute load average before and after (2 cores: above 2 means waiting). Then each phase of the
load: the *self* time of the functions listed in ``PHASES`` (time in a nested timed function
counts for that function's phase, not its caller's), so the phases add up to the whole load, as
wall seconds, user and system CPU seconds (every thread: Arrow reads and casts on several) and
minor page faults, medians over ``--runs`` runs. The table a phase is charged to is the one being
read or checked; the lookups of every later table's keys among a parent's kept rows
(``_keys_in_parent``) are charged to the parent. Works on any version of the loader (a function
that does not exist is not timed), so two checkouts can be compared with ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import os
import pstats
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

#: (module, attribute, phase); a class method as "Class.method"
PHASES = [
    ("gapkit.contract.loading", "load", "other (folder, mapping, Data)"),
    ("gapkit.contract.loading", "read_text_csv", "read: file checks, header"),
    ("gapkit.contract._reading", "_arrow", "read: Arrow text read (+ line count, to pandas)"),
    ("gapkit.contract.validation", "validate", "other (counts, concat)"),
    ("gapkit.contract.validation", "tidy_table", "tidy"),
    ("gapkit.contract._tidy", "_case_twins", "tidy: case twins"),
    ("gapkit.contract._tidy", "_distinct", "tidy: case twins"),
    ("gapkit.contract.validation", "_validate_table", "check: copy, select kept rows"),
    ("gapkit.contract.validation", "_Flags.__init__", "rejects: keep original text"),
    ("gapkit.contract.validation", "_Flags.flag", "rejects: flag rows"),
    ("gapkit.contract.validation", "_Flags.rejects", "rejects: assemble"),
    ("gapkit.contract.validation", "_read_values", "placeholders (before earliest, after span)"),
    ("gapkit.contract._parsing", "one_chunk", "ids: one chunk"),
    ("gapkit.contract._parsing", "read", "parse: timestamps, numbers, flags"),
    ("gapkit.contract._parsing", "parse", "parse: ids, text"),
    ("gapkit.contract._parsing", "blank", "ids: blank"),
    ("gapkit.contract.validation", "blank", "ids: blank"),
    ("gapkit.contract.validation", "_horizon", "placeholders: horizon"),
    ("gapkit.contract.validation", "_pandera_failures", "pandera: required, ranges, allowed"),
    ("gapkit.contract._parsing", "repeated", "duplicates"),
    ("gapkit.contract.validation", "_check_links", "time order, foreign-key flags"),
    ("gapkit.contract.validation", "_keys_in_parent", "foreign keys: lookups (index_in)"),
]


class Clock:
    """Self time per (table, phase): wall, user and system CPU (every thread), minor page faults."""

    FIELDS = ("wall", "user", "sys", "faults")

    def __init__(self):
        self.totals = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        self.stack: list[list] = []  # [phase, table, start, nested]
        self.table = "(no table: the orders' span)"

    @staticmethod
    def now() -> list[float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return [time.perf_counter(), usage.ru_utime, usage.ru_stime, float(usage.ru_minflt)]

    def wrap(self, fn, phase, table_of=None):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            table = table_of(args, kwargs) if table_of else None
            outer = self.table
            if table:
                self.table = table
            frame = [phase, self.table, self.now(), [0.0] * 4]
            self.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stack.pop()
                spent = [b - a for a, b in zip(frame[2], self.now())]
                total = self.totals[frame[1], phase]
                for i, (value, nested) in enumerate(zip(spent, frame[3])):
                    total[i] += value - nested
                if self.stack:
                    self.stack[-1][3] = [a + b for a, b in zip(self.stack[-1][3], spent)]
                self.table = outer
        return timed


def _table_of(args, kwargs):
    from gapkit.contract.schema import Table

    for value in args:
        if isinstance(value, Path):
            return value.stem
        if isinstance(value, Table):
            return value.name
    return None


def _parent_of(args, kwargs):
    return f"{args[0]} (its children's keys)" if args and isinstance(args[0], str) else None


def install(clock: Clock) -> None:
    import importlib

    for module_name, attribute, phase in PHASES:
        module = importlib.import_module(module_name)
        owner, name = module, attribute
        if "." in attribute:
            owner_name, name = attribute.split(".")
            owner = getattr(module, owner_name, None)
        if owner is None or not hasattr(owner, name):
            continue
        table_of = _parent_of if name == "_keys_in_parent" else None if name == "load" else _table_of
        wrapped = clock.wrap(getattr(owner, name), phase, table_of)
        setattr(owner, name, wrapped)
        # the same function imported by name into other gapkit modules
        for other in list(sys.modules.values()):
            if other is not owner and getattr(other, "__name__", "").startswith("gapkit") and \
                    getattr(other, name, None) is getattr(wrapped, "__wrapped__", None):
                setattr(other, name, wrapped)


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(HERE / "data" / "1000000" / "csv"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cprofile", type=int, default=0, metavar="N", help="also print cProfile's top N functions")
    args = ap.parse_args()
    import gapkit

    folder = Path(args.folder)
    files = sorted(folder.glob("*.csv"))
    from gapkit.contract._reading import read_text_csv

    gapkit.load(folder)  # warm-up (imports, page cache)
    runs = {"bare read_csv": lambda: {f.stem: pd.read_csv(f) for f in files},
            "read_text_csv (the text read alone)": lambda: {f.stem: read_text_csv(f) for f in files},
            "gapkit.load": lambda: gapkit.load(folder)}
    times = {name: [] for name in runs}
    before = load_average()
    for _ in range(args.runs):  # round robin, untimed by the clock
        for name, fn in runs.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    bare = statistics.median(times["bare read_csv"])
    print(f"# {folder}, medians of {args.runs} round-robin runs, load average {before} -> {load_average()}:")
    for name, spent in times.items():
        print(f"#   {name:36s} {statistics.median(spent):.3f} s (min {min(spent):.3f}, max {max(spent):.3f}) "
              f"= {statistics.median(spent) / bare:.2f}x bare read_csv")

    clock = Clock()
    install(clock)
    runs = []
    for _ in range(args.runs):
        clock.totals.clear()
        gc.collect()
        start = Clock.now()
        gapkit.load(folder)
        whole = [b - a for a, b in zip(start, Clock.now())]
        runs.append((whole, {k: list(v) for k, v in clock.totals.items()}))
    keys = sorted({k for _, totals in runs for k in totals})
    median = {k: [statistics.median(totals.get(k, [0.0] * 4)[i] for _, totals in runs) for i in range(4)] for k in keys}
    whole = [statistics.median(w[i] for w, _ in runs) for i in range(4)]
    print(f"# timed with the clock, medians of {args.runs} runs: wall {whole[0]:.3f} s, user {whole[1]:.3f} s, "
          f"sys {whole[2]:.3f} s, {whole[3]:,.0f} minor page faults; load average now {load_average()}")
    header = f"{'wall s':>8s} {'user s':>8s} {'sys s':>8s} {'faults':>8s}"

    def row(values):
        return f"{values[0]:8.3f} {values[1]:8.3f} {values[2]:8.3f} {values[3]:8,.0f}"

    print(f"\n{'phase':52s} {header}")
    for phase in dict.fromkeys(p for _, p in keys):
        print(f"{phase:52s} {row([sum(v[i] for (t, p), v in median.items() if p == phase) for i in range(4)])}")
    print(f"{'total':52s} {row([sum(v[i] for v in median.values()) for i in range(4)])}")
    print(f"\n{'table':34s} {'phase':52s} {header}")
    for table in dict.fromkeys(t for t, _ in keys):
        for (t, phase) in keys:
            if t == table and median[t, phase][0] >= 0.005:
                print(f"{table:34s} {phase:52s} {row(median[t, phase])}")
        print(f"{table:34s} {'(table total)':52s} "
              f"{row([sum(v[i] for (t, _), v in median.items() if t == table) for i in range(4)])}")

    if args.cprofile:
        profile = cProfile.Profile()
        profile.enable()
        gapkit.load(folder)
        profile.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(args.cprofile)
            print(out.getvalue())


if __name__ == "__main__":
    main()
