"""Where the time of one ``gapkit run`` goes, end to end, on synthetic data of a given size.

Runs the notebook suite once (``gapkit.runner.run``, as ``gapkit run --config gapkit.yml --data
<folder>`` does) on ``benchmarks/data/<size>/csv`` (the data ``bench_kpis.py`` generates) and
prints the share of the run's wall time spent in each part: the load step (read, check,
quarantine, write the checked tables as Parquet), the kernel start, and per notebook its cells
(papermill's duration of each cell, with the cells that call ``gapkit.kpis`` shown apart), the
HTML export and the rest (papermill's own work: reading, injecting parameters, writing).

Usage::

    python benchmarks/run_breakdown.py [--size 1000000] [--as-of 2025-06-30] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_kpis import ensure_data, ensure_parquet_only  # noqa: E402

import gapkit.config  # noqa: E402
from gapkit import runner  # noqa: E402


def breakdown(result, wall: float) -> list[tuple[str, float]]:
    """(part, seconds) rows; the parts add up to the run's wall time."""
    rows = [("load (read, check, quarantine, write Parquet)", result.timings["load"]),
            ("kernel start (one for the run)", result.timings.get("kernel_start", 0.0))]
    beside = []
    for name in runner.NOTEBOOKS:
        cells = sum(seconds for _, seconds in result.cell_seconds.get(name, []))
        html = result.html_seconds.get(name, 0.0)
        parts = [(f"{name}: cells", cells), (f"{name}: HTML export", html),
                 (f"{name}: papermill and kernel reset", result.timings[name] - cells - html)]
        if name == getattr(result, "beside", None):  # in a second kernel, at the same time as the next ones
            beside = [(f"({part}, in a second kernel, overlapping the rows above)", seconds) for part, seconds in parts]
        else:
            rows += parts
    rows.append(("history, publish and the rest", wall - sum(seconds for _, seconds in rows)))
    return rows + beside


def time_kpis(config, csv_dir: Path) -> tuple[float, list[str]]:
    """``gapkit.kpis`` as notebook 01 calls it, timed on its own after the run (the notebook's
    first cell also reads the tables, computes baselines, alerts and retention)."""
    import gapkit
    from gapkit.report import adapt

    data = gapkit.load(csv_dir, earliest=config.earliest)
    segments = adapt.segment_columns(data, config.segments)
    started = time.perf_counter()
    gapkit.kpis(data, as_of=config.as_of, by=segments, period="M", params=config.params, engine=config.engine)
    return time.perf_counter() - started, list(segments)


class MemorySampler:
    """The peak of the resident memory of this process and all its descendants together (the
    kernels), sampled from /proc on a thread: with a second kernel, no single process's peak
    says what the run needed at once."""

    def __init__(self, every: float = 0.5):
        self.every, self.peak_mb = every, 0.0
        self.peak_mb_of: dict[int, float] = {}  # each descendant's own sampled peak (the kernels)
        self._done = threading.Event()

    def _total_mb(self) -> float:
        total, pending = 0, [os.getpid()]
        while pending:
            pid = pending.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                found = re.search(r"VmRSS:\s+(\d+)", status)
                if found:
                    total += int(found.group(1))
                    if pid != os.getpid():
                        self.peak_mb_of[pid] = max(self.peak_mb_of.get(pid, 0.0), int(found.group(1)) / 1024)
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, AttributeError, ValueError):
                continue
        return total / 1024

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            self.peak_mb = max(self.peak_mb, self._total_mb())

    @property
    def largest_child_mb(self) -> float:
        """The largest sampled peak of one descendant process (a kernel)."""
        return max(self.peak_mb_of.values(), default=0.0)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def slowest_cells(result, count: int = 8) -> list[tuple[str, str, float]]:
    cells = [(name, source.strip().splitlines()[0][:80] if source.strip() else "", seconds)
             for name, sources in result.cell_seconds.items() for source, seconds in sources]
    return sorted(cells, key=lambda cell: -cell[2])[:count]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="number of orders")
    ap.add_argument("--as-of", default="2025-06-30", help="report date")
    ap.add_argument("--out", help="report folder (default: a temporary folder, removed afterwards)")
    ap.add_argument("--json", metavar="FILE", help="also save the timings as JSON")
    ap.add_argument("--engine", choices=["pandas", "duckdb", "polars", "spark"], help="the configuration's engine key "
                    "(default: what gapkit.yml says)")
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv", help="input files (default csv)")
    ap.add_argument("--no-kpis", action="store_true", help="skip timing gapkit.kpis alone after the run")
    ap.add_argument("--serial", action="store_true", help="run the notebooks one after another, none in a "
                    "second kernel (to compare with the default)")
    args = ap.parse_args(argv)
    if args.serial:
        from gapkit.pipeline import _kernel

        _kernel.room_for_another = lambda kernel: False

    # Parquet alone past 5M orders (generated in chunks; ~3 GB of CSV per 10M orders is not written)
    csv_dir = ensure_parquet_only(args.size) if args.format == "parquet" else ensure_data(args.size)[0]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gapkit-run-breakdown-")) / "report"
    config_file = HERE.parent / "gapkit.yml"
    if args.engine:
        # the notebooks read the configuration file, not the runner's Config: a copy with the key set
        text = re.sub(r"^engine:.*$", "", config_file.read_text(encoding="utf-8"), flags=re.MULTILINE)
        config_file = Path(tempfile.mkdtemp(prefix="gapkit-run-breakdown-")) / "gapkit.yml"
        config_file.write_text(text + f"\nengine: {args.engine}\n", encoding="utf-8")
    config = gapkit.config.read(config_file, data=str(csv_dir), as_of=args.as_of, out=str(out))
    load_before = os.getloadavg()
    started = time.perf_counter()
    with MemorySampler() as memory:
        result = runner.run(config)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()

    rows = breakdown(result, wall)
    # peaks of resident memory: this process (the load step reads and checks here) and the largest
    # child that has ended (the notebooks' kernel, shut down at the end of the run), in MB
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_kernel = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # CPU seconds (user + system) of this process and of the ended children (the kernel): on a
    # shared machine they move less than the wall time
    cpu_self = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
    cpu_children = sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) for f in ("ru_utime", "ru_stime"))
    print(f"\ngapkit run on {args.size:,} orders (as_of {args.as_of}, engine {config.engine}): {wall:.1f} s wall; "
          f"load average "
          f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f} before, "
          f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after (1/5/15 min)\n")
    print("| part | seconds | share |\n|---|---:|---:|")
    for part, seconds in rows:
        print(f"| {part} | {seconds:.1f} | {100 * seconds / wall:.1f}% |")
    print(f"| **total** | **{wall:.1f}** | 100% |\n")
    # not ru_maxrss of the children: a child forked from the runner reports the runner's size at
    # the fork as its own peak (8,131 MB for a kernel at 10M orders, the runner's load-step peak)
    print(f"peak resident memory: {peak_self:,.0f} MB in the runner (load step), {memory.largest_child_mb:,.0f} MB in "
          f"the largest kernel, {memory.peak_mb:,.0f} MB of the runner and its kernels together (sampled every "
          f"{memory.every} s); in a second kernel: {result.beside or 'no notebook'}; CPU {cpu_self:.1f} s in the "
          f"runner, {cpu_children:.1f} s in the kernels and other children\n")
    kpis, segments = (None, []) if args.no_kpis else time_kpis(config, csv_dir)
    if kpis is not None:
        print(f"gapkit.kpis as notebook 01 calls it (by {segments}, period M), timed on its "
              f"own after the run: {kpis:.1f} s ({100 * kpis / wall:.1f}% of the run's wall time)\n")
    print("slowest cells:")
    for name, first_line, seconds in slowest_cells(result):
        print(f"  {seconds:7.1f} s  {name}: {first_line}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "size": args.size, "as_of": args.as_of, "engine": config.engine, "wall_s": wall,
            "loadavg_before": load_before, "loadavg_after": load_after, "timings": result.timings,
            "html_seconds": result.html_seconds,
            "cell_seconds": result.cell_seconds, "breakdown": rows,
            "kpis_alone_s": kpis, "format": args.format, "peak_mb_runner": peak_self,
            "peak_mb_kernel": memory.largest_child_mb, "peak_mb_children_rusage": peak_kernel,
            "peak_mb_together": memory.peak_mb, "beside": result.beside,
            "cpu_s_runner": cpu_self, "cpu_s_children": cpu_children}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
