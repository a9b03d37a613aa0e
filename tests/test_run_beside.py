"""Report 4 runs in a second kernel beside reports 2 and 3 when the machine has room (issue 30):
the same reports, failures named as before, and a failure of either side ends the other."""

import threading
import time

import nbformat
import pytest
from test_report_folder import SAMPLE, quick_run, stand_in_notebooks

from gapkit.config import Config
from gapkit.pipeline import _kernel, runner


@pytest.fixture
def room(monkeypatch):
    monkeypatch.setattr(_kernel, "room_for_another", lambda kernel: True)


def planted(folder, name, code):
    notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(notebook, folder / f"{name}.ipynb")


def test_report_4_runs_beside_reports_2_and_3_when_there_is_room(tmp_path, room):
    lines = []
    settings = Config(data=str(SAMPLE), as_of="2025-06-30", out=str(tmp_path / "out"))
    result = runner.run(settings, notebooks_dir=stand_in_notebooks(tmp_path / "nb"), progress=lines.append)
    assert result.beside == "04_impact_measurement"
    assert "[4/4] 04_impact_measurement ... (in a second kernel, beside 02_desired_state and 03_gap_identification)" \
        in lines
    for name in runner.NOTEBOOKS:
        assert (tmp_path / "out" / f"{name}.html").exists() and name in result.timings
    assert not [t for t in threading.enumerate() if t.name == "gapkit-beside"]


def test_without_room_the_notebooks_run_one_after_another(tmp_path, monkeypatch):
    monkeypatch.setattr(_kernel, "room_for_another", lambda kernel: False)
    result = quick_run(stand_in_notebooks(tmp_path / "nb"), tmp_path / "out")
    assert result.beside is None and all(name in result.timings for name in runner.NOTEBOOKS)


def test_a_run_given_its_kernel_starts_no_second_one(tmp_path, room):
    notebooks = stand_in_notebooks(tmp_path / "nb")
    kernel = _kernel.SharedKernel(notebooks)
    try:
        assert quick_run(notebooks, tmp_path / "out", kernel=kernel).beside is None
    finally:
        kernel.shutdown()


def test_a_failure_beside_is_named_and_leaves_the_last_report(tmp_path, room):
    notebooks = stand_in_notebooks(tmp_path / "nb")
    planted(notebooks, "04_impact_measurement", "raise RuntimeError('planted beside')")
    failure = r"04_impact_measurement.ipynb failed in cell \d+ \(RuntimeError: planted"
    with pytest.raises(runner.RunError, match=failure):
        quick_run(notebooks, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "out.failed" / "04_impact_measurement.ipynb").exists()
    assert not list(tmp_path.glob(".*running*"))


def test_a_failure_in_reports_2_or_3_ends_report_4_at_once(tmp_path, room):
    notebooks = stand_in_notebooks(tmp_path / "nb")
    planted(notebooks, "04_impact_measurement", "import time\ntime.sleep(120)")
    planted(notebooks, "02_desired_state", "raise RuntimeError('planted in 2')")
    started = time.perf_counter()
    with pytest.raises(runner.RunError, match=r"02_desired_state.ipynb failed in cell \d+ \(RuntimeError: planted"):
        quick_run(notebooks, tmp_path / "out")
    assert time.perf_counter() - started < 60  # report 4's kernel was interrupted, not waited for
    assert (tmp_path / "out.failed" / "02_desired_state.ipynb").exists()
    assert not [t for t in threading.enumerate() if t.name == "gapkit-beside" and t.is_alive()]
    assert not list(tmp_path.glob(".*running*"))


def test_room_for_another_asks_for_two_cpus_and_the_memory_of_a_second_kernel(monkeypatch):
    class Kernel:
        def __init__(self, peak):
            self.peak = peak

        def peak_bytes(self):
            return self.peak

    gib = 2**30
    monkeypatch.setattr(_kernel.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(_kernel, "_proc_kib", lambda path, key: 8 * gib)  # MemAvailable
    monkeypatch.setattr(_kernel.Path, "read_text", lambda self: "max")  # no container limit
    assert _kernel.room_for_another(Kernel(4 * gib))
    assert not _kernel.room_for_another(Kernel(6 * gib))  # 8 GiB free < 1.5 x 6 GiB + 512 MiB
    assert not _kernel.room_for_another(Kernel(None))  # peak unknown (not Linux)
    monkeypatch.setattr(_kernel.os, "sched_getaffinity", lambda pid: {0})
    assert not _kernel.room_for_another(Kernel(gib))  # one CPU
