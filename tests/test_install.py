"""A regular (non-editable) install runs the suite from any folder: the notebooks ship inside the wheel."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(folder), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    return next(folder.glob("gapkit-*.whl"))


def test_the_wheel_carries_the_notebooks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("01_current_state", "02_desired_state", "03_gap_identification", "04_impact_measurement"):
        assert f"gapkit/notebooks/{name}.ipynb" in names
    # every package of the layout, and the sample's configuration (gapkit.datasets.sample_config)
    assert {"gapkit/pipeline/runner.py", "gapkit/measure/engine.py", "gapkit/sample/gapkit.yml"} <= set(names)


def test_an_installed_wheel_runs_the_suite_from_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the installed copy comes first on the path, for this process and the kernels it starts
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import gapkit.runner as r; print(r.__file__, r.NOTEBOOK_DIR)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    # the old short name still finds the runner, now in gapkit/pipeline/
    assert where.stdout.split() == [str(target / "gapkit" / "pipeline" / "runner.py"),
                                    str(target / "gapkit" / "notebooks")]
    done = subprocess.run([sys.executable, "-m", "gapkit.cli", "run", "--data", str(ROOT / "data" / "sample"),
                           "--as-of", "2025-06-30", "--out", str(elsewhere / "report")],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for name in ("01_current_state", "02_desired_state", "03_gap_identification", "04_impact_measurement"):
        assert (elsewhere / "report" / f"{name}.html").exists()
