"""``gapkit run``: the notebook suite, executed headlessly with papermill, published as HTML.

A run writes into a fresh temporary folder beside the output folder and only moves it into
place when every notebook succeeded, so a failed run never replaces the last good report; the
failed notebook is kept in ``<out>.failed/`` for inspection. Each run has its own temporary
folder and kernels, so two runs into different folders do not meet.
"""

from __future__ import annotations

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

from gapkit import pipeline
from gapkit.adapt import check_columns
from gapkit.config import Config
from gapkit.errors import ConfigError, GapkitError, InputError
from gapkit.kernel import SHARED_KERNEL_ENGINE, SharedKernel
from gapkit.loading import last_complete_day

# package data (gapkit.notebooks, mapped to the top-level notebooks/ folder in pyproject.toml),
# so that an installed wheel finds the suite wherever it runs from
NOTEBOOK_DIR = Path(str(resources.files("gapkit.notebooks")))
NOTEBOOKS = pipeline.NOTEBOOKS
PACKAGES = ["gapkit", "pandas", "numpy", "statsmodels", "scipy", "narwhals", "duckdb", "pandera", "seaborn",
            "matplotlib", "papermill", "nbconvert", "vaderSentiment"]


class RunError(GapkitError):
    """A notebook failed; the message names the notebook and the cell."""


@dataclass
class RunResult:
    out: Path
    status: str
    timings: dict = field(default_factory=dict)
    # per notebook: seconds of each code cell (papermill's record, before it is stripped) and of
    # the HTML export, for benchmarks/run_breakdown.py; not written to run.json
    cell_seconds: dict = field(default_factory=dict)
    html_seconds: dict = field(default_factory=dict)


def notebook_parameters(config: Config, out: Path) -> dict:
    """What papermill injects into each notebook's ``parameters`` cell."""
    return {
        "data": str(Path(config.data).resolve()),
        "as_of": config.as_of,
        "config": str(Path(config.source).resolve()) if config.source else "",
        "out": str(out),
    }


def run(config: Config, keep_code: bool = False, notebooks_dir: Path = NOTEBOOK_DIR, progress=print,
        kernel: SharedKernel | None = None) -> RunResult:
    """Run every notebook in order into ``config.out_dir``; raise :class:`RunError` on failure.

    ``kernel``: a :class:`SharedKernel` to run in (and leave running), e.g. for many runs in a
    row; by default the run starts its own and shuts it down at the end.

    Examples
    --------
    >>> gapkit.runner.run(gapkit.config.read("gapkit.yml"))
    """
    import papermill

    # kernels inherit this: on a busy small machine OpenBLAS threads fighting over two cores made
    # the statsmodels fits in the notebooks many times slower (measured: 107 s against 3.6 s)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    data_dir = Path(config.data)
    if not any((data_dir / f"orders.{ext}").exists() for ext in ("csv", "parquet")):
        raise InputError(f"{data_dir}: no orders.csv or orders.parquet; gapkit run needs at least the orders table.")
    check_columns(config, data_dir)
    as_of_source = "given"
    if config.as_of is None:
        day, latest = last_complete_day(data_dir)
        config = config.replace(as_of=day)
        as_of_source = f"not given: the last complete day in the orders (latest order {latest})"
        progress(f"no as_of given: reporting as of {day}, the last complete day in the orders "
                 f"(latest order {latest}); pass --as-of YYYY-MM-DD to choose another")
    out = Path(config.out_dir).resolve()
    staging = _staging(out)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    parameters = notebook_parameters(config, staging)
    owned = kernel is None
    cell_seconds: dict[str, list[tuple[str, float]]] = {}
    html_seconds: dict[str, float] = {}
    try:
        tick = time.perf_counter()
        progress(f"[0/{len(NOTEBOOKS)}] reading and checking the input once ...")
        data = _quietly(pipeline.prepare, config.data, staging, config.earliest)
        counts = data.counts.to_dict(orient="records")
        rejected = int(data.counts["rejected"].sum())
        progress(f"      {int(data.counts['input_rows'].sum()):,} rows in {len(data)} tables; {rejected:,} set aside"
                 + (" (each with its reason in rejects.csv)" if rejected else ""))
        progress(f"      KPIs on the {config.engine} engine (engine in the configuration)")
        del data  # the notebooks read the checked tables from the staging folder
        timings["load"] = round(time.perf_counter() - tick, 2)
        if owned:
            kernel = SharedKernel(notebooks_dir)
            timings["kernel_start"] = kernel.started_in
        for index, name in enumerate(NOTEBOOKS, start=1):
            progress(f"[{index}/{len(NOTEBOOKS)}] {name} ...")
            tick = time.perf_counter()
            target = staging / f"{name}.ipynb"
            kernel.reset()
            try:
                papermill.execute_notebook(
                    str(notebooks_dir / f"{name}.ipynb"), str(target), parameters=parameters,
                    kernel_name="python3", progress_bar=False, km=kernel.manager, engine_name=SHARED_KERNEL_ENGINE,
                )
            except papermill.PapermillExecutionError as err:
                failed = _keep_failed(staging, out)
                raise RunError(
                    f"{name}.ipynb failed in cell {err.exec_count} ({err.ename}: {err.evalue}). "
                    f"The failed notebook is kept in {failed / (name + '.ipynb')}; the previous report "
                    f"in {out} is untouched."
                ) from None
            cell_seconds[name] = strip_run_metadata(target)
            html_tick = time.perf_counter()
            export_html(target, keep_code=keep_code)
            html_seconds[name] = round(time.perf_counter() - html_tick, 2)
            timings[name] = round(time.perf_counter() - tick, 2)
            progress(f"      done in {timings[name]:.1f} s")
        timings["total"] = round(time.perf_counter() - started, 2)
        _write_run_json(staging, config, parameters | {"out": str(out), "as_of_source": as_of_source}, timings,
                        "success", counts)
        # the checked rows hold the customers' own words and ids: the published report keeps
        # only what the notebooks chose to show (a failed run keeps them for debugging)
        shutil.rmtree(staging / pipeline.VALIDATED, ignore_errors=True)
        _publish(staging, out)
        tick = time.perf_counter()
        from gapkit.monitor import append_history, history_path
        from gapkit.publish import read_csv

        kept = append_history(read_csv(out, "kpis.csv"), config.as_of, history_path(out))
        progress(f"      history: {kept['as_of'].nunique()} run(s) in {history_path(out)}")
    except BaseException:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if owned and kernel is not None:
            kernel.shutdown()
    progress(f"report written to {out} in {timings['total']:.1f} s")
    return RunResult(out, "success", timings, cell_seconds, html_seconds)


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
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: a file of that name exists; give a folder for the report (the file is "
                          f"left as it is).")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in out.parent.glob(f".{out.name}.running-*"):
            pid = stale.name.split(".running-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
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
    failed = out.with_name(out.name + ".failed")
    if failed.exists():
        shutil.rmtree(failed)
    shutil.copytree(staging, failed)
    return failed


def _publish(staging: Path, out: Path) -> None:
    """Swap the finished report into place; the old one is removed only after the swap."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    failed = out.with_name(out.name + ".failed")
    if failed.exists():
        shutil.rmtree(failed, ignore_errors=True)


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


def strip_run_metadata(path: Path) -> list[tuple[str, float]]:
    """Drop papermill's timing metadata so stored notebooks diff cleanly; return what it
    recorded: (source, seconds) per executed code cell."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    durations = []
    for cell in notebook.cells:
        seconds = (cell.metadata.pop("papermill", None) or {}).get("duration")
        if cell.cell_type == "code" and seconds is not None:
            durations.append((cell.source, float(seconds)))
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return durations


def export_html(path: Path, keep_code: bool = False) -> Path:
    """HTML beside the notebook: code hidden unless ``keep_code``, parameter cells removed.

    The page keeps the notebook's own markup (headings, paragraphs, tables with header cells):
    text from the data is escaped where gapkit puts it into an output (tables, findings,
    sentences), not by escaping the whole page, which showed every heading as ``<h1 ...>``.
    Each chart gets alternative text from the section it belongs to.
    """
    import logging

    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config as TraitletsConfig

    settings = TraitletsConfig()
    settings.TagRemovePreprocessor.remove_cell_tags = HIDDEN_TAGS
    settings.TagRemovePreprocessor.enabled = True
    settings.HTMLExporter.exclude_input = not keep_code
    settings.HTMLExporter.exclude_input_prompt = True
    settings.HTMLExporter.exclude_output_prompt = True
    exporter = HTMLExporter(config=settings)
    exporter.register_preprocessor(TagRemovePreprocessor(config=settings), enabled=True)
    exporter.log.setLevel(logging.ERROR)  # its "alternative text is missing" warning: supplied below
    notebook = nbformat.read(path, as_version=4)
    body, _ = exporter.from_notebook_node(notebook)
    page = BeautifulSoup(body, features="html.parser")
    images = page.select(".jp-OutputArea-output img")
    for image, alt in zip(images, image_alt_texts(notebook)):
        image["alt"] = alt
    target = path.with_suffix(".html")
    target.write_text(str(page), encoding="utf-8")
    return target


HIDDEN_TAGS = ("parameters", "injected-parameters")


def image_alt_texts(notebook) -> list[str]:
    """One description per image output, in page order: the cell's ``alt`` metadata, else the
    heading of the section the chart sits in and its place there."""
    import re

    alts, heading, count = [], notebook.metadata.get("title", "Chart"), 0
    for cell in notebook.cells:
        if set(cell.metadata.get("tags", [])) & set(HIDDEN_TAGS):
            continue
        if cell.cell_type == "markdown":
            found = re.findall(r"^#+\s*(.+)$", cell.source, flags=re.MULTILINE)
            if found:
                heading, count = found[-1].strip(), 0
            continue
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                count += 1
                alts.append(cell.metadata.get("alt") or f"Chart {count} of the section \"{heading}\"")
    return alts


def copy_notebooks(target: str | Path, data: str | Path, as_of: str | None = None, config: str | Path | None = None,
                   force: bool = False) -> list[Path]:
    """The notebook suite in ``target``, for JupyterLab, with its parameters set to this data.

    Each copy's ``parameters`` cell names the data folder, report date and configuration, and
    writes its artifacts to ``target/reports/interactive``, never to a published report. Stored
    outputs (the sample's) are cleared. Existing notebooks are kept unless ``force``.

    Examples
    --------
    >>> gapkit.runner.copy_notebooks("analysis", data="exports/2025-06", as_of="2025-06-30")
    """
    target = Path(target).resolve()
    data = Path(data).resolve()
    if as_of is None:
        as_of, _ = last_complete_day(data)
    existing = [target / f"{n}.ipynb" for n in NOTEBOOKS if (target / f"{n}.ipynb").exists()]
    if existing and not force:
        raise InputError(f"{existing[0]} exists; pick an empty folder or pass --force to overwrite the notebooks.")
    target.mkdir(parents=True, exist_ok=True)
    values = {"data": str(data), "as_of": as_of, "config": str(Path(config).resolve()) if config else "",
              "out": str(target / "reports" / "interactive")}
    written = []
    for name in NOTEBOOKS:
        notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = _with_values(cell.source, values)
        nbformat.write(notebook, target / f"{name}.ipynb")
        written.append(target / f"{name}.ipynb")
    return written


def _with_values(source: str, values: dict) -> str:
    """A parameters cell (``name: str = "literal"  # comment`` lines) with new literals."""
    import re

    def replace(match):
        name = match.group(1)
        return f'{name}: str = {json.dumps(values[name])}{match.group(3)}' if name in values else match.group(0)

    return re.sub(r'^(\w+): str = ("[^"]*")(.*)$', replace, source, flags=re.MULTILINE)


def notebook_cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a notebook says, without its outputs: (cell type, source, tags) per cell."""
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ()))) for cell in notebook.cells]


def sync_notebook_sources(notebooks_dir: Path = NOTEBOOK_DIR, progress=print) -> list[str]:
    """Rebuild each ``.ipynb`` whose cells differ from its paired percent-format ``.py``.

    The ``.py`` files (jupytext "percent" format) are the source a person edits, reviews and
    lints; the ``.ipynb`` files hold the executed outputs that nbval checks. A rebuilt notebook
    has no outputs until it is executed (:func:`refresh_committed_notebooks`).
    """
    try:
        import jupytext
    except ImportError:
        raise RunError("jupytext is needed to build the notebooks from their .py sources: "
                       "pip install 'gapkit[test]'") from None
    rebuilt = []
    for name in NOTEBOOKS:
        source, target = notebooks_dir / f"{name}.py", notebooks_dir / f"{name}.ipynb"
        wanted = jupytext.read(source, fmt="py:percent")
        current = nbformat.read(target, as_version=4) if target.exists() else None
        if current is not None and notebook_cells(current) == notebook_cells(wanted):
            continue
        notebook = nbformat.v4.new_notebook(metadata=current.metadata if current is not None else {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        for cell in wanted.cells:
            make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
            new = make(cell.source.strip())
            if cell.metadata.get("tags"):
                new.metadata["tags"] = list(cell.metadata["tags"])
            notebook.cells.append(new)
        notebook.metadata.pop("jupytext", None)
        nbformat.write(notebook, target)
        progress(f"rebuilt {target.name} from {source.name}")
        rebuilt.append(name)
    return rebuilt


def refresh_committed_notebooks(notebooks_dir: Path = NOTEBOOK_DIR, progress=print) -> None:
    """Rebuild the notebooks from their .py sources and re-run them in place on data/sample, for nbval."""
    import papermill

    sync_notebook_sources(notebooks_dir, progress)
    kernel = SharedKernel(notebooks_dir)  # the same kernel setup as `gapkit run`: stored outputs match a run's
    try:
        for name in NOTEBOOKS:
            path = notebooks_dir / f"{name}.ipynb"
            progress(f"refreshing {path.name}")
            kernel.reset()
            papermill.execute_notebook(str(path), str(path), kernel_name="python3", progress_bar=False,
                                       km=kernel.manager, engine_name=SHARED_KERNEL_ENGINE)
            strip_run_metadata(path)
    finally:
        kernel.shutdown()
