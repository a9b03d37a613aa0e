"""``gapkit run``: the notebook suite, executed headlessly with papermill, published as HTML.

A run writes into a fresh temporary folder beside the output folder and only moves it into
place when every notebook succeeded, so a failed run never replaces the last good report; the
failed notebook is kept in ``<out>.failed/`` for inspection. Each run has its own temporary
folder and kernels, so two runs into different folders do not meet. What ``--out`` may be, and
how publishing stays all-or-nothing, is :mod:`gapkit.report_folder`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

import nbformat

from gapkit.config import Config
from gapkit.contract._database import is_database, redact
from gapkit.contract.loading import last_complete_day, source_label
from gapkit.errors import ConfigError, GapkitError, InputError
from gapkit.pipeline import steps as pipeline
from gapkit.pipeline._kernel import (  # noqa: F401 (notebook_cells: re-exported for tools and tests)
    SHARED_KERNEL_ENGINE,
    SharedKernel,
    notebook_cells,
    run_in_order,
    strip_run_metadata,
)
from gapkit.pipeline.report_folder import PublishError, Target
from gapkit.report.adapt import check_columns, named_columns
from gapkit.report.html import (  # noqa: F401 (gapkit run's pages; re-exported for callers)
    HIDDEN_TAGS,
    REMOVED_TAGS,
    export_html,
    html_escape,
    image_alt_texts,
    page_title,
)

# package data (gapkit.notebooks, mapped to the top-level notebooks/ folder in pyproject.toml),
# so that an installed wheel finds the suite wherever it runs from
NOTEBOOK_DIR = Path(str(resources.files("gapkit.notebooks")))
NOTEBOOKS = pipeline.NOTEBOOKS
#: The exploring notebook: shipped and tested with the suite, copied by `gapkit notebooks`, not
#: part of a report run.
QUICKSTART = "quickstart"
SOURCE_NOTEBOOKS = [*NOTEBOOKS, QUICKSTART]
PACKAGES = ["gapkit", "pandas", "numpy", "statsmodels", "scipy", "narwhals", "duckdb", "pandera", "seaborn",
            "matplotlib", "papermill", "nbconvert", "vaderSentiment"]


class RunError(GapkitError):
    """A notebook failed; the message names the notebook and the cell."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM; the message says what was left published.

    A subclass, not KeyboardInterrupt itself, for the reason :class:`gapkit.cli.Stopped` gives.
    """


@dataclass
class RunResult:
    out: Path
    status: str
    timings: dict = field(default_factory=dict)
    # per notebook: seconds of each code cell (papermill's record, before it is stripped) and of
    # the HTML export, for benchmarks/run_breakdown.py; not written to run.json
    cell_seconds: dict = field(default_factory=dict)
    html_seconds: dict = field(default_factory=dict)
    beside: str | None = None  # the notebook run in a second kernel beside the others, if one was


def notebook_parameters(config: Config, out: Path, history: Path | None = None) -> dict:
    """What papermill injects into the notebooks' ``parameters`` cells (each gets those it declares)."""
    return {
        "data": source_label(config.data),  # a URL without its password: the notebooks keep their parameters
        "as_of": config.as_of,
        "config": str(Path(config.source).resolve()) if config.source else "",
        "out": str(out),
        "history": str(history) if history is not None else "",
    }


def declared_parameters(notebook: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell declares (``name: str = ...`` lines)."""
    import re

    cells = nbformat.read(notebook, as_version=4).cells
    source = "\n".join(c.source for c in cells if "parameters" in c.metadata.get("tags", []))
    return set(re.findall(r"^(\w+)\s*:", source, flags=re.MULTILINE))


def run(config: Config, keep_code: bool = False, notebooks_dir: Path = NOTEBOOK_DIR, progress=print,
        kernel: SharedKernel | None = None) -> RunResult:
    """Run every notebook in order into ``config.out_dir``; raise :class:`RunError` on failure.

    ``kernel``: a :class:`SharedKernel` to run in (and leave running), e.g. for many runs in a
    row; by default the run starts its own and shuts it down at the end.

    Examples
    --------
    >>> gapkit.runner.run(gapkit.config.read("gapkit.yml"))  # doctest: +SKIP
    """
    # kernels inherit this: on a busy small machine OpenBLAS threads fighting over two cores made
    # the statsmodels fits in the notebooks many times slower (measured: 107 s against 3.6 s)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from gapkit.pipeline import report_folder

    config, as_of_source = _checked_before_running(config, progress)
    target = report_folder.check_target(config.out_dir, config.data)
    out = target.folder
    staging = _staging(out)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    parameters = notebook_parameters(config, staging, target.history)
    owned = kernel is None
    cell_seconds: dict[str, list[tuple[str, float]]] = {}
    html_seconds: dict[str, float] = {}
    state = {"step": "reading the input", "notebooks_done": False}
    beside = None
    try:
        tick = time.perf_counter()
        counts = _read_input_once(config, staging, progress)
        pipeline.release_memory()
        # the configuration as checked and resolved here (report date, command line) is what every
        # notebook reads: none of them parses gapkit.yml again
        parameters["config"] = str(pipeline.write_settings(config, staging))
        timings["load"] = round(time.perf_counter() - tick, 2)
        state["step"] = "running the notebooks"
        if owned:
            kernel = SharedKernel(notebooks_dir)
            timings["kernel_start"] = kernel.started_in
        run_one = functools.partial(_run_notebook, paths=(notebooks_dir, staging, out), parameters=parameters,
                                    config=config, keep_code=keep_code, progress=progress,
                                    record=(timings, cell_seconds, html_seconds))
        beside = run_in_order(NOTEBOOKS, run_one, kernel, notebooks_dir, may_add_kernel=owned)
        state["notebooks_done"] = True
        _write_overview(staging, config, target)
        timings["total"] = round(time.perf_counter() - started, 2)
        _write_run_json(staging, config, parameters | {"out": str(out), "history": str(target.history),
                                                       "as_of_source": as_of_source,
                                                       "config": notebook_parameters(config, staging)["config"]},
                        timings, "success", counts)
        kept = _publish(staging, target, config.as_of, state, _measured_without_checked_rows(staging))
        progress(f"      history: {kept['as_of'].nunique()} run(s) in {target.history}")
    except KeyboardInterrupt as stop:
        if state["step"] == "published":
            report_folder.remove_own(report_folder.aside_name(out))
        else:
            shutil.rmtree(staging, ignore_errors=True)
        raise Interrupted(_interrupted_message(stop, state, target)) from None
    except OSError as error:
        if state["step"] == "reading the input":
            raise
        raise _publish_error(error, state, staging, target) from None
    except BaseException:
        if staging.exists() and state["step"] != "published":
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if owned and kernel is not None:
            kernel.shutdown()
    progress(f"report written to {out} in {timings['total']:.1f} s; start with {out / 'index.html'}")
    return RunResult(out, "success", timings, cell_seconds, html_seconds, beside)


def _run_notebook(name: str, kernel: SharedKernel, note: str = "", *, paths: tuple[Path, Path, Path],
                  parameters: dict, config: Config, keep_code: bool, progress, record: tuple[dict, dict, dict]):
    """Execute one notebook of the suite into the staging folder and export its HTML; ``record``
    (timings, cell seconds, HTML seconds) gets its times."""
    notebooks_dir, staging, out = paths
    timings, cell_seconds, html_seconds = record
    progress(f"[{NOTEBOOKS.index(name) + 1}/{len(NOTEBOOKS)}] {name} ...{note}")
    tick = time.perf_counter()
    target_notebook = _execute(notebooks_dir / f"{name}.ipynb", staging, out, parameters, kernel)
    cell_seconds[name] = strip_run_metadata(target_notebook)
    html_tick = time.perf_counter()
    export_html(target_notebook, keep_code=keep_code, data_name=data_label(config.data), as_of=str(config.as_of),
                engine=config.engine)
    html_seconds[name] = round(time.perf_counter() - html_tick, 2)
    timings[name] = round(time.perf_counter() - tick, 2)
    progress(f"      {name} done in {timings[name]:.1f} s")


def _write_overview(staging: Path, config: Config, target: Target) -> None:
    """index.html: where the business stands, from this run's artifacts and the earlier runs."""
    from gapkit.monitor.runs import history as past_runs
    from gapkit.report._overview import write_index

    write_index(staging, config.as_of, data_name=data_label(config.data), engine=config.engine,
                history=past_runs(target.history), currency=config.currency)


def _checked_before_running(config: Config, progress) -> tuple[Config, str]:
    """The checks that answer in a second, before any notebook runs, and the report date."""
    data = config.data  # a database is asked its catalog and latest order, not read, here
    if not is_database(data) and not any((Path(data) / f"orders.{ext}").exists() for ext in ("csv", "parquet")):
        raise InputError(f"{data}: no orders.csv or orders.parquet; gapkit run needs at least the orders table.")
    check_columns(config, data)
    if config.engine == "spark":
        from gapkit.measure.spark import why_unavailable

        if why_unavailable():
            raise ConfigError(f"{config.source or 'the configuration'}: engine: spark, but {why_unavailable()}.")
    if config.as_of is not None:
        return config, "given"
    day, latest = last_complete_day(data, columns=config.columns)
    progress(f"no as_of given: reporting as of {day}, the last complete day in the orders "
             f"(latest order {latest}); pass --as-of YYYY-MM-DD to choose another")
    return config.replace(as_of=day), f"not given: the last complete day in the orders (latest order {latest})"


def _read_input_once(config: Config, staging: Path, progress) -> list[dict]:
    """Read and check the input into the staging folder (the notebooks read it from there);
    returns the row counts per table for run.json."""
    progress(f"[0/{len(NOTEBOOKS)}] reading and checking the input once ...")
    data = _quietly(pipeline.prepare, config.data, staging, config.earliest, config.as_of, config.columns,
                    [column for _, column in named_columns(config)])
    for note in data.notes:
        if note.startswith("as_of "):
            progress(f"      note: {note}")
    rejected = int(data.counts["rejected"].sum())
    progress(f"      {int(data.counts['input_rows'].sum()):,} rows in {len(data)} tables; {rejected:,} set aside"
             + (" (each with its reason in rejects.csv)" if rejected else ""))
    progress(f"      KPIs on the {config.engine} engine (engine in the configuration)")
    return data.counts.to_dict(orient="records")


def _execute(source: Path, staging: Path, out: Path, parameters: dict, kernel: SharedKernel) -> Path:
    """Run one notebook into the staging folder; a failure names its cell and keeps the notebook."""
    import papermill

    target_notebook = staging / source.name
    kernel.reset()
    try:
        papermill.execute_notebook(
            str(source), str(target_notebook),
            parameters={k: v for k, v in parameters.items() if k in declared_parameters(source)},
            # cells done / total and elapsed time at a terminal; nothing in a scheduler's log
            kernel_name="python3", progress_bar=sys.stderr.isatty(), km=kernel.manager,
            engine_name=SHARED_KERNEL_ENGINE,
        )
    except papermill.PapermillExecutionError as err:
        failed = _keep_failed(staging, out)
        raise RunError(
            f"{source.name} failed in cell {err.exec_count} ({err.ename}: {err.evalue}). "
            f"The failed notebook is kept in {failed / source.name}; the previous report "
            f"in {out} is untouched."
        ) from None
    return target_notebook


def _publish_error(error: OSError, state: dict, staging: Path, target: Target) -> PublishError:
    """What a failed write or rename left where, in words (the report is kept, never lost)."""
    from gapkit.pipeline import report_folder

    out = target.folder
    if state["step"] == "published":
        return PublishError(f"the report is published in {out} and the history updated, but removing the "
                            f"previous report failed ({report_folder.describe_os_error(error)}); a later run "
                            f"removes what is left of it.")
    kept_in = _keep_unpublished(staging, out)
    what = "the finished report" if state["notebooks_done"] else "what the run had made"
    return PublishError(f"cannot publish to {out}: {report_folder.describe_os_error(error)}. "
                        f"{what[0].upper() + what[1:]} is kept in {kept_in}; the previous report in {out} and "
                        f"the history in {target.history} are as they were. Free space or fix the permission "
                        f"and run again, or copy the report from there.")


def _measured_without_checked_rows(staging: Path):
    """The KPI table for the history, as the analysis holds it (Parquet, not the formula-safe
    kpis.csv: a segment "+1+1" stays "+1+1"); then the checked rows go. They hold the customers'
    own words and ids: the published report keeps only what the notebooks chose to show (a
    failed run keeps them for debugging)."""
    from gapkit.report.publish import read_csv

    measured = read_csv(staging, "kpis.csv")  # the twin in validated/ when the notebooks left one
    shutil.rmtree(staging / pipeline.VALIDATED, ignore_errors=True)
    return measured


def _publish(staging: Path, target: Target, as_of: str, state: dict, measured=None):
    """Mark the report as gapkit's, take the history lock, and swap report and history in together."""
    from gapkit.monitor.runs import write_history_aside
    from gapkit.pipeline import report_folder

    os.chmod(staging, report_folder.folder_mode(target.folder))
    report_folder.mark(staging)
    target.history.parent.mkdir(parents=True, exist_ok=True)
    state["step"] = "waiting for the history lock"
    with report_folder.history_lock(target.history):
        try:  # checked again: files may have been put there while the notebooks ran
            report_folder.check_target(target.given)
        except ConfigError as refused:
            kept_in = _keep_unpublished(staging, target.folder)
            raise PublishError(f"{refused} The finished report is kept in {kept_in}.") from None
        state["step"] = "writing the history"
        if measured is None:
            from gapkit.report.publish import read_csv

            measured = read_csv(staging, "kpis.csv")
        kept, temporary = write_history_aside(measured, as_of, target.history)
        try:
            report_folder.swap_in(staging, target, temporary, step=lambda name: state.update(step=name))
        finally:
            temporary.unlink(missing_ok=True)
    report_folder.remove_own(report_folder.aside_name(target.folder))
    report_folder.remove_own(target.folder.with_name(target.folder.name + ".failed"))
    return kept


def _interrupted_message(stop: KeyboardInterrupt, state: dict, target: Target) -> str:
    why = str(stop) or "Ctrl-C"
    if state["step"] == "published":
        return (f"{why} after publishing: the new report is in {target.folder} and its KPIs in {target.history}; "
                f"the previous report is replaced")
    return (f"{why} before publishing ({state['step']}): the previous report in {target.folder} and the history in "
            f"{target.history} are as they were; nothing of this run is kept")


def _keep_unpublished(staging: Path, out: Path) -> Path:
    """The staging folder renamed where a user finds it (renaming needs no space); its own name
    if even that fails."""
    from gapkit.pipeline import report_folder

    kept = out.with_name(out.name + ".unpublished")
    if not report_folder.remove_own(kept):
        kept = out.with_name(f"{out.name}.unpublished-{os.getpid()}")
    try:
        os.replace(staging, kept)
    except OSError:
        return staging
    try:
        report_folder.mark(kept)
    except OSError:
        pass  # a full disk: the folder is kept all the same; only a later run cannot replace it
    return kept


def data_label(data) -> str:
    """A short name for the input in titles: its folder, with the parent when the folder's own
    name says nothing ("data", "export"); for a database URL its database (or file) and schema,
    never its password."""
    if "://" in str(data):
        from urllib.parse import parse_qsl

        base, _, query = redact(data).partition("?")
        schema = dict(parse_qsl(query)).get("schema")
        name = base.rstrip("/").rsplit("/", 1)[-1]
        return f"{name}/{schema}" if schema else name
    folder = Path(str(data)).resolve()
    if folder.name.lower() in ("data", "export", "exports", "input", "inputs", "latest") and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def _quietly(function, *args):
    """``function(*args)`` with gapkit's per-table warnings held back: the run reports the totals
    and rejects.csv lists every row (the API still logs them for interactive use)."""
    import logging

    logger = logging.getLogger("gapkit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return function(*args)
    finally:
        logger.setLevel(level)


def _staging(out: Path) -> Path:
    """A fresh hidden folder beside ``out`` to build the report in; stale ones of dead runs removed."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        from gapkit.pipeline.report_folder import remove_own

        for stale in out.parent.glob(f".{out.name}.running-*"):
            pid = stale.name.split(".running-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)  # a staging folder of a run that was killed
        for stale in out.parent.glob(f".{out.name}.old-*"):
            pid = stale.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                remove_own(stale)  # a previous report set aside by a killed run: only if gapkit made it
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.running-{os.getpid()}-", dir=out.parent))
    except PermissionError:
        raise ConfigError(f"--out {out}: cannot write in {out.parent} (permission denied); choose a folder you "
                          f"can write to.") from None
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot create the report folder there ({error.strerror}).") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _keep_failed(staging: Path, out: Path) -> Path:
    from gapkit.pipeline import report_folder

    failed = out.with_name(out.name + ".failed")
    if not report_folder.remove_own(failed):
        failed = out.with_name(f"{out.name}.failed-{os.getpid()}")
    shutil.copytree(staging, failed)
    report_folder.mark(failed)
    return failed


def _write_run_json(folder: Path, config: Config, parameters: dict, timings: dict, status: str,
                    counts: list[dict]) -> None:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    record = {
        "status": status,
        "parameters": parameters,
        "config": config.to_dict(),
        "python": sys.version.split()[0],
        "packages": versions,
        "row_counts": counts,
        "timings_seconds": timings,
        "notebooks": [f"{n}.ipynb" for n in NOTEBOOKS],
    }
    (folder / "run.json").write_text(json.dumps(record, indent=2, default=str))
