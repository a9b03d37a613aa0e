"""The pipeline registry matches what the notebooks do, and the data is read once per run."""

import re
from pathlib import Path

import pandas as pd
import pytest

from gapkit import pipeline, publish

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _calls(step, function):
    source = (NOTEBOOKS / f"{step.notebook}.py").read_text()
    return set(re.findall(rf'publish\.{function}\([^)]*"([a-z_]+\.csv)"', source))


@pytest.mark.parametrize("step", [s for s in pipeline.STEPS if s.notebook], ids=lambda s: s.name)
def test_each_notebook_reads_and_writes_what_the_registry_says(step):
    assert _calls(step, "read_csv") <= set(step.reads)
    assert _calls(step, "write_csv") == {w for w in step.writes if w.endswith(".csv")}


def test_every_artifact_read_was_written_by_an_earlier_step():
    written = set()
    for step in pipeline.STEPS:
        assert set(step.reads) <= written, step.name
        written |= set(step.writes)
    # every artifact with contract columns has a step that writes it
    assert set(publish.ARTIFACT_COLUMNS) <= written


def test_maker_names_the_notebook():
    assert pipeline.maker("kpis.csv") == "01_current_state"
    assert pipeline.maker("rejects.csv") == "gapkit run"
    assert pipeline.maker("nothing.csv") is None


def test_prepared_tables_read_back_equal(tmp_path, sample_dir):
    first = pipeline.prepare(sample_dir, tmp_path)
    again = pipeline.dataset(sample_dir, tmp_path)
    assert list(again) == list(first)
    for name in first:
        pd.testing.assert_frame_equal(again[name], first[name])
    pd.testing.assert_frame_equal(again.rejects, first.rejects)
    assert (again.source, again.files, again.notes) == (first.source, first.files, first.notes)
    assert publish.read_csv(tmp_path, "row_counts.csv")["input_rows"].sum() == first.counts["input_rows"].sum()


def test_other_data_or_settings_load_afresh(tmp_path, sample_dir):
    pipeline.prepare(sample_dir, tmp_path)
    marker = tmp_path / pipeline.VALIDATED / "orders.parquet"
    pd.DataFrame({"order_id": ["planted"]}).to_parquet(marker)  # would show if it were read
    fresh = pipeline.dataset(sample_dir, tmp_path, earliest="2000-01-01")
    assert "planted" not in set(fresh["orders"]["order_id"])
    assert list(pipeline.dataset(sample_dir, tmp_path)["orders"]["order_id"]) == ["planted"]
