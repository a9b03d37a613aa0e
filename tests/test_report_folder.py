"""Publishing never deletes what gapkit did not write, and leaves report and history consistent.

The end-to-end cases run the real runner and command line on the sample input with four tiny
stand-in notebooks (the real ones take ~15 s a run and are covered by test_run.py): what is
under test here is everything around the notebooks.
"""

import errno
import json
import os
import subprocess
import sys
import textwrap
from multiprocessing import get_context
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from gapkit import config as configuration
from gapkit.errors import ConfigError
from gapkit.pipeline import report_folder, runner
from gapkit.pipeline.report_folder import MARKER, PublishError, check_target

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def user_files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def make_export(folder: Path) -> Path:
    """A user's folder: input tables and a note of theirs."""
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_bytes((SAMPLE / "orders.csv").read_bytes())
    (folder / "customers.csv").write_bytes((SAMPLE / "customers.csv").read_bytes())
    (folder / "NOTES.txt").write_text("my own notes\n")
    return folder


def stand_in_notebooks(folder: Path) -> Path:
    """The suite's four notebooks, reduced to writing a KPI table (as notebook 01 does)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(runner.NOTEBOOKS):
        notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}})
        parameters = nbformat.v4.new_code_cell('data: str = ""\nas_of: str = ""\nconfig: str = ""\nout: str = ""')
        parameters.metadata["tags"] = ["parameters"]
        body = ("import pandas as pd\n"
                "pd.DataFrame({'kpi': ['csat'], 'period': ['all'], 'segment_by': ['all'], 'segment': ['all'],"
                " 'n': [10], 'value': [0.5], 'ci_low': [0.2], 'ci_high': [0.8], 'unit': ['share'],"
                " 'better': ['higher']}).to_csv(f'{out}/kpis.csv', index=False)\n" if index == 0 else "")
        notebook.cells = [parameters, nbformat.v4.new_code_cell(body + f"print('{name}', as_of)")]
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    return stand_in_notebooks(tmp_path_factory.mktemp("stand-ins"))


def quick_run(notebooks, out, as_of="2025-06-30", data=SAMPLE, **kwargs):
    settings = configuration.Config(data=str(data), as_of=as_of, out=str(out))
    return runner.run(settings, notebooks_dir=notebooks, progress=lambda line: None, **kwargs)


def history_runs(parent: Path) -> list[str]:
    return sorted(pd.read_parquet(parent / "history.parquet")["as_of"].unique())


# --- what --out may be -------------------------------------------------------------------------

def test_out_equal_to_inside_or_around_the_input_is_refused(tmp_path):
    export = make_export(tmp_path / "proj" / "data")
    for out in (export, tmp_path / "proj", export / "report"):
        with pytest.raises(ConfigError, match="input folder") as refused:
            check_target(out, export, cwd=tmp_path / "elsewhere", home=tmp_path / "home")
        assert "outside the input" in str(refused.value) and "data-report" in str(refused.value)


def test_the_working_folder_a_home_folder_and_folders_gapkit_did_not_make_are_refused(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir(), home.mkdir()
    for out, said in ((work, "current folder"), (tmp_path, "current folder"), (home, "home folder")):
        with pytest.raises(ConfigError, match=said):
            check_target(out, cwd=work, home=home)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "budget.xlsx").write_text("x")
    with pytest.raises(ConfigError, match="not made by gapkit"):
        check_target(mine, cwd=work, home=home)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="a file of that name"):
        check_target(tmp_path / "a-file", cwd=work, home=home)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_target(empty, cwd=work, home=home).folder == empty.resolve()
    assert check_target(tmp_path / "new" / "report", cwd=work, home=home).folder == tmp_path / "new" / "report"


def test_a_report_folder_with_a_file_gapkit_did_not_write_is_refused_by_name(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / "kpis.csv").write_text("kpi\n")
    report_folder.mark(report)
    assert check_target(report, cwd=tmp_path / "w", home=tmp_path / "h").folder == report
    (report / "NOTES.txt").write_text("mine")
    with pytest.raises(ConfigError, match="NOTES.txt"):
        check_target(report, cwd=tmp_path / "w", home=tmp_path / "h")


def test_a_report_of_an_earlier_gapkit_without_the_marker_is_still_replaceable(tmp_path):
    report = tmp_path / "2025-06-30"
    report.mkdir()
    (report / "run.json").write_text(json.dumps({"status": "success", "notebooks": [], "row_counts": []}))
    (report / "kpis.csv").write_text("kpi\n")
    assert report_folder.foreign_files(report) == []
    (report / "NOTES.txt").write_text("mine")
    assert report_folder.foreign_files(report) is None


def test_a_symlinked_out_is_judged_by_its_target_and_history_stays_beside_the_link(tmp_path):
    shared = tmp_path / "shared" / "www"
    shared.mkdir(parents=True)
    (shared / "index.html").write_text("the team's page")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "latest").symlink_to(shared)
    with pytest.raises(ConfigError, match="a link to"):
        check_target(reports / "latest", cwd=tmp_path / "w", home=tmp_path / "h")
    (shared / "index.html").unlink()
    target = check_target(reports / "latest", cwd=tmp_path / "w", home=tmp_path / "h")
    assert target.folder == shared.resolve() and target.history == reports / "history.parquet"


# --- the command line never deletes the user's files ---------------------------------------------

def gapkit_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gapkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("case", ["out is data", "out contains data", "out is the working folder",
                                  "out holds the user's files", "out links to the user's files"])
def test_gapkit_run_leaves_the_users_files_as_they_were(tmp_path, case):
    export = make_export(tmp_path / "proj" / "data")
    other = tmp_path / "proj" / "mine"
    other.mkdir()
    (other / "plan.docx").write_text("keep me")
    out = {"out is data": export, "out contains data": tmp_path / "proj", "out is the working folder": Path("."),
           "out holds the user's files": other, "out links to the user's files": tmp_path / "latest"}[case]
    if case == "out links to the user's files":
        out.symlink_to(other)
    before = user_files(tmp_path)
    done = gapkit_cli("run", "--data", str(export), "--as-of", "2025-06-30", "--out", str(out), cwd=tmp_path / "proj")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gapkit run failed: --out" in done.stderr and "Traceback" not in done.stderr
    assert user_files(tmp_path) == before
    assert not list(tmp_path.rglob(".*running*")) and not (tmp_path / "history.parquet").exists()


# --- publishing: mode, history under a lock, failures, interruptions ----------------------------

def test_a_republished_folder_keeps_its_mode_and_replaces_only_gapkit_files(tmp_path, notebooks):
    out = tmp_path / "reports" / "2025-06-30"
    quick_run(notebooks, out)
    os.chmod(out, 0o755)
    quick_run(notebooks, out)
    assert oct(out.stat().st_mode & 0o777) == oct(0o755)
    assert (out / MARKER).exists() and (out / "kpis.csv").exists()
    assert history_runs(out.parent) == ["2025-06-30"]
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".") and "lock" not in p.name] == []


def _publish_one(parent: str, as_of: str) -> None:
    """One run's publishing step, as `gapkit run` does it after the notebooks (a process each)."""
    out = Path(parent) / as_of
    staging = runner._staging(out)
    pd.DataFrame({"kpi": ["csat"], "period": ["all"], "segment_by": ["all"], "segment": ["all"], "n": [10],
                  "value": [0.5], "ci_low": [0.2], "ci_high": [0.8], "unit": ["share"],
                  "better": ["higher"]}).to_csv(staging / "kpis.csv", index=False)
    runner._publish(staging, check_target(out), as_of, {"step": "", "notebooks_done": True})


def test_eight_concurrent_publishes_keep_eight_runs_in_the_shared_history(tmp_path):
    days = [f"2025-0{m}-28" for m in range(1, 9)]
    with get_context("spawn").Pool(8) as pool:
        pool.starmap(_publish_one, [(str(tmp_path), day) for day in days])
    assert history_runs(tmp_path) == days
    assert all((tmp_path / day / "kpis.csv").exists() for day in days)


def test_a_full_disk_during_the_html_export_keeps_the_report_and_the_previous_one(tmp_path, notebooks,
                                                                               monkeypatch):
    out = tmp_path / "reports" / "2025-06-30"
    quick_run(notebooks, out, as_of="2025-05-31")
    before = user_files(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out.parent / "x.html"))

    monkeypatch.setattr(runner, "export_html", full)
    with pytest.raises(PublishError, match="the disk is full") as failed:
        quick_run(notebooks, out)
    kept = out.with_name(out.name + ".unpublished")
    assert str(kept) in str(failed.value) and (kept / "01_current_state.ipynb").exists()
    assert user_files(out) == before and history_runs(out.parent) == ["2025-05-31"]


def test_a_read_only_target_ends_in_a_gapkit_error_with_the_finished_report_kept(tmp_path, notebooks, monkeypatch):
    out = tmp_path / "reports" / "2025-06-30"
    quick_run(notebooks, out, as_of="2025-05-31")
    before = user_files(out)
    real = os.replace

    def read_only(source, destination):  # what a read-only mount says to renaming the folder
        if Path(source) == out:
            raise OSError(errno.EROFS, "Read-only file system", str(out))
        return real(source, destination)

    monkeypatch.setattr(report_folder.os, "replace", read_only)
    with pytest.raises(PublishError, match="read-only") as failed:
        quick_run(notebooks, out)
    kept = out.with_name(out.name + ".unpublished")
    assert "the finished report is kept in" in str(failed.value).lower() and str(kept) in str(failed.value)
    assert (kept / "kpis.csv").exists() and (kept / "run.json").exists()
    assert user_files(out) == before and history_runs(out.parent) == ["2025-05-31"]


def test_a_rename_failing_midway_undoes_the_ones_before_it(tmp_path, monkeypatch):
    out = tmp_path / "r"
    out.mkdir()
    (out / "old.csv").write_text("old")
    staging = tmp_path / ".r.running"
    staging.mkdir()
    (staging / "new.csv").write_text("new")
    real, calls = os.replace, []

    def second_fails(source, destination):
        calls.append(source)
        if len(calls) == 2:
            raise OSError(errno.EACCES, "Permission denied", str(destination))
        return real(source, destination)

    monkeypatch.setattr(report_folder.os, "replace", second_fails)
    target = report_folder.Target(out, out, tmp_path / "history.parquet")
    with pytest.raises(OSError):
        report_folder.swap_in(staging, target, None)
    assert (out / "old.csv").exists() and (staging / "new.csv").exists()


STOP_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from functools import partial
    from pathlib import Path
    from gapkit import cli
    from gapkit.monitor import runs as monitor_history
    from gapkit.pipeline import report_folder
    from gapkit.pipeline import runner

    stage, notebooks = sys.argv[1], Path(sys.argv[2])
    runner.run = partial(runner.run, notebooks_dir=notebooks)  # the stand-in notebooks

    def stop_at(name):
        if name == stage:
            os.kill(os.getpid(), signal.SIGTERM)

    if stage == "html export":
        export = runner.export_html
        runner.export_html = lambda *a, **k: (stop_at("html export"), export(*a, **k))[1]
    elif stage == "writing the history":
        write = monitor_history.write_history_aside
        monitor_history.write_history_aside = lambda *a: (stop_at(stage), write(*a))[1]
    else:
        swap = report_folder.swap_in
        report_folder.swap_in = lambda *a, step: swap(*a, step=lambda n: (step(n), stop_at(n)))
    sys.exit(cli.main(sys.argv[3:]))
""")


@pytest.mark.parametrize("stage", ["html export", "writing the history", "old report aside", "new report in place",
                                   "history replaced", "published"])
def test_a_sigterm_at_each_stage_of_publishing_leaves_a_consistent_state_and_says_which(tmp_path, notebooks, stage):
    out = tmp_path / "reports" / "2025-06-30"
    quick_run(notebooks, out, as_of="2025-05-31")
    previous = user_files(out)
    done = subprocess.run([sys.executable, "-c", STOP_SCRIPT, stage, str(notebooks), "run", "--data", str(SAMPLE),
                           "--as-of", "2025-06-30", "--out", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 130, done.stdout + done.stderr
    completed = stage in ("old report aside", "new report in place", "history replaced", "published")
    if completed:  # inside the renames the signal waits until report and history are both in place
        assert "after publishing" in done.stderr, done.stderr
        assert history_runs(out.parent) == ["2025-05-31", "2025-06-30"]
        assert json.loads((out / "run.json").read_text())["parameters"]["as_of"] == "2025-06-30"
    else:
        assert "before publishing" in done.stderr and "as they were" in done.stderr, done.stderr
        assert history_runs(out.parent) == ["2025-05-31"] and user_files(out) == previous
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".") and "lock" not in p.name]
    assert leftovers == [] and "Traceback" not in done.stderr
