"""The pipeline registry matches what the notebooks do, and the data is read once per run."""

import re
from pathlib import Path

import pandas as pd
import pytest

from gapkit.pipeline import steps as pipeline
from gapkit.report import publish

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _calls(step, function, module="publish", name=r"[a-z_]+\.csv"):
    source = (NOTEBOOKS / f"{step.notebook}.py").read_text()
    return set(re.findall(rf'{module}\.{function}\([^)]*"({name})"', source))


@pytest.mark.parametrize("step", [s for s in pipeline.STEPS if s.notebook], ids=lambda s: s.name)
def test_each_notebook_reads_and_writes_what_the_registry_says(step):
    assert _calls(step, "read_csv") <= set(step.reads)
    assert _calls(step, "write_csv") == {w for w in step.writes if w.endswith(".csv")}
    # the tables handed on as Parquet with their metadata
    assert _calls(step, "carried", "pipeline", "[a-z_]+") <= set(step.reads)
    assert _calls(step, "keep", "pipeline", "[a-z_]+") == {w for w in step.writes if "." not in w}


def test_the_registry_names_every_file_once_and_the_modules_follow_it():
    from gapkit import monitor
    from gapkit.analysis import actions, gaps
    from gapkit.contract import artifacts
    from gapkit.desired import goals
    from gapkit.impact import effects as impact
    from gapkit.impact import money
    from gapkit.measure import engine as measure
    from gapkit.report import results

    writers = [w for step in pipeline.STEPS for w in step.writes]
    assert len(writers) == len(set(writers)), "an artifact written by two steps"
    assert {a.step for a in artifacts.ARTIFACTS.values()} <= {s.name for s in pipeline.STEPS}
    for file, table in [("kpis.csv", measure.KPI_COLUMNS), ("gaps.csv", gaps.GAP_COLUMNS),
                        ("goals.csv", goals.GOAL_COLUMNS), ("alerts.csv", monitor.ALERT_COLUMNS),
                        ("impact.csv", impact.IMPACT_COLUMNS), ("action_plan.csv", actions.ACTION_COLUMNS),
                        ("cost_benefit.csv", money.COST_BENEFIT_COLUMNS)]:
        assert tuple(table[:len(artifacts.columns(file))]) == artifacts.columns(file), file
    kinds = [cls for module in (actions, gaps, goals, impact, money, monitor) for cls in vars(module).values()
             if isinstance(cls, type) and issubclass(cls, results.Result) and cls.artifact]
    assert kinds and all(cls.artifact in artifacts.ARTIFACTS for cls in kinds)


def test_the_kpi_table_travels_with_its_metadata(tmp_path, sample_dir):
    import gapkit

    data = pipeline.prepare(sample_dir, tmp_path)
    table = gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period=None)
    pipeline.keep(table, tmp_path, "kpis")
    back = pipeline.carried(tmp_path, "kpis")
    pd.testing.assert_frame_equal(back, table)
    assert back.attrs == table.attrs and back.attrs["by"] == ["segment"] and "skipped" in back.attrs
    with pytest.raises(gapkit.InputError, match="01_current_state"):
        pipeline.carried(tmp_path, "current")


@pytest.mark.parametrize("given", ["gapkit.yml", None])
def test_the_notebooks_get_the_settings_the_runner_checked(tmp_path, given):
    # the defaults too: an empty currency once failed the round trip and stopped every run
    # without a configuration
    from gapkit import config

    settings = config.read(given, as_of="2025-05-31", engine="duckdb", out=str(tmp_path))
    again = config.read(pipeline.write_settings(settings, tmp_path))
    assert again.replace(source="checked") == settings.replace(source="checked")


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


def test_a_notebook_reads_only_the_tables_it_uses(tmp_path, sample_dir):
    from gapkit.contract._stored import stored_paths

    first = pipeline.prepare(sample_dir, tmp_path)
    again = pipeline.dataset(sample_dir, tmp_path)
    assert again.tables.loaded == () and len(again) == len(first) and "orders" in again
    pd.testing.assert_frame_equal(again["orders"], first["orders"])
    assert again.tables.loaded == ("orders",)  # the others stay on disk until asked for
    assert again["orders"] is again["orders"]  # read once
    assert stored_paths(again)["tickets"] == tmp_path / pipeline.VALIDATED / "tickets.parquet"
    assert stored_paths(first) == {}  # tables checked in memory lie in no file
    with pytest.raises(KeyError, match="no table 'nope'"):
        again["nope"]


def test_other_data_or_settings_load_afresh(tmp_path, sample_dir):
    pipeline.prepare(sample_dir, tmp_path)
    marker = tmp_path / pipeline.VALIDATED / "orders.parquet"
    pd.DataFrame({"order_id": ["planted"]}).to_parquet(marker)  # would show if it were read
    assert list(pipeline.dataset(sample_dir, tmp_path)["orders"]["order_id"]) == ["planted"]
    (tmp_path / "rejects.csv").unlink()
    fresh = pipeline.dataset(sample_dir, tmp_path, earliest="2000-01-01")
    assert "planted" not in set(fresh["orders"]["order_id"])
    # read and checked afresh by the one load step, which writes the rejects and counts again
    assert (tmp_path / "rejects.csv").exists() and "planted" not in set(pd.read_parquet(marker)["order_id"])
