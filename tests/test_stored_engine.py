"""A run's checked tables are read by DuckDB from their Parquet files, never loaded into pandas for it."""

import pandas as pd
import pytest

import gapkit
from gapkit.pipeline import steps

AS_OF = "2025-06-30"
KEYS = ["kpi", "segment_by", "segment", "period"]


@pytest.fixture(scope="module")
def stored(sample_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    in_memory = steps.prepare(sample_dir, folder)
    return in_memory, steps.dataset(sample_dir, folder)


@pytest.mark.parametrize("by", [[], ["segment", "channel"]])
def test_kpis_from_the_files_equal_the_kpis_from_memory_and_read_nothing_into_pandas(stored, by):
    in_memory, on_disk = stored
    from_files = gapkit.kpis(on_disk, AS_OF, by=by, period="M", engine="duckdb")
    assert on_disk.tables.loaded == ()  # DuckDB read the Parquet files itself
    from_memory = gapkit.kpis(in_memory, AS_OF, by=by, period="M", engine="duckdb")
    pd.testing.assert_frame_equal(from_files[KEYS + ["n"]], from_memory[KEYS + ["n"]])
    # DuckDB's parallel sums may differ in the last bits from one call to the next, files or not
    pd.testing.assert_frame_equal(from_files, from_memory, check_exact=False, rtol=1e-12, atol=1e-14)
    on_pandas = gapkit.kpis(in_memory, AS_OF, by=by, period="M", engine="pandas")
    pd.testing.assert_frame_equal(from_files[KEYS + ["n"]], on_pandas[KEYS + ["n"]])


@pytest.mark.parametrize("kpi", ["repeat_purchase_rate", "csat", "resolution_hours", "followup_coverage"])
def test_units_from_the_files_equal_the_units_from_memory(stored, kpi):
    in_memory, on_disk = stored
    from_files = gapkit.units(on_disk, kpi, AS_OF, by=["segment"], engine="duckdb")
    from_memory = gapkit.units(in_memory, kpi, AS_OF, by=["segment"], engine="duckdb")
    order = [c for c in from_files.columns if c.endswith("_id")] + ["anchor"]
    pd.testing.assert_frame_equal(from_files.sort_values(order).reset_index(drop=True),
                                  from_memory.sort_values(order).reset_index(drop=True), check_exact=True)


def test_a_table_the_notebook_has_read_is_used_as_it_holds_it(sample_dir, tmp_path):
    steps.prepare(sample_dir, tmp_path)
    on_disk = steps.dataset(sample_dir, tmp_path)
    surveys = on_disk["surveys"]
    surveys.drop(surveys.index[surveys["csat"].notna()][:10], inplace=True)  # an analyst's edit in the notebook
    n = gapkit.kpis(on_disk, AS_OF, kpis=["csat"], engine="duckdb").set_index("kpi").loc["csat", "n"]
    assert on_disk.tables.loaded == ("surveys",)
    assert n == gapkit.kpis(on_disk, AS_OF, kpis=["csat"], engine="pandas").set_index("kpi").loc["csat", "n"]


def test_choosing_segments_and_drivers_reads_no_table_whole(sample_dir, tmp_path):
    """Which columns a table has comes from its file's schema, and a segment's groups from that
    column alone: the reports' first steps leave the tables on disk for DuckDB."""
    in_memory = steps.prepare(sample_dir, tmp_path)
    on_disk = steps.dataset(sample_dir, tmp_path)
    assert gapkit.adapt.segment_columns(on_disk) == gapkit.adapt.segment_columns(in_memory)
    assert gapkit.adapt.segment_columns(on_disk, ["segment", "channel"]) == ["segment", "channel"]
    assert gapkit.adapt.driver_controls(on_disk) == gapkit.adapt.driver_controls(in_memory)
    assert gapkit.adapt.columns_for(on_disk, "surveys", ["segment", "channel"]) == ["segment"]
    assert gapkit.adapt.lacking(on_disk, {"orders": ["refund_reason"]}) == "the orders table has no refund_reason column"
    assert on_disk.tables.loaded == ()
    with pytest.raises(gapkit.ConfigError, match="'tier' is in none of the tables"):
        gapkit.adapt.segment_columns(on_disk, ["tier"])
    assert on_disk.tables.loaded == ()
