"""One definition, several engines: pandas, DuckDB over pandas frames, DuckDB over Parquet, Polars."""

import pandas as pd
import pytest
from shapes import SHAPES

import gapkit
from gapkit import sample
from gapkit.report import adapt

AS_OF = "2025-06-30"
# a schedule with a half day, a zone west of UTC (opening hours cross UTC midnight), daylight
# saving and public holidays, so the *_bh KPIs are compared on every engine too
SCHEDULE = {"time_zone": "America/Los_Angeles", "hours": {"Mon": "08:00-18:00", "Tue": "08:00-18:00",
            "Wed": "08:00-18:00", "Thu": "08:00-18:00", "Fri": "08:00-18:00", "Sat": "10:00-14:00"},
            "holidays": "US-CA"}


@pytest.fixture(scope="module")
def data():
    return gapkit.validate(sample.generate(n_orders=3000, seed=3))


def compute(tables, engine):
    table = gapkit.kpis(tables, as_of=AS_OF, by=["segment", "channel", "loyalty_member"], period="M", engine=engine,
                        params={"business_hours": SCHEDULE})
    return table.sort_values(["kpi", "period", "segment_by", "segment"]).reset_index(drop=True)


def test_pandas_and_duckdb_give_identical_kpis(data):
    on_pandas, on_duckdb = compute(data, "pandas"), compute(data, "duckdb")
    assert len(on_pandas) > 500 and set(on_pandas.kpi) == set(gapkit.KPIS)
    pd.testing.assert_frame_equal(on_pandas, on_duckdb, check_exact=False, rtol=1e-9, atol=1e-12)


def test_pandas_and_polars_give_identical_kpis(data):
    # the narwhals definitions on Polars lazy frames (engine="polars"), business-hour KPIs included
    on_pandas, on_polars = compute(data, "pandas"), compute(data, "polars")
    pd.testing.assert_frame_equal(on_pandas, on_polars, check_exact=False, rtol=1e-9, atol=1e-12)
    assert on_polars.attrs["skipped"] == on_pandas.attrs["skipped"]


def test_duckdb_over_parquet_matches_pandas(data, tmp_path):
    gapkit.write_parquet(data, tmp_path)
    lazy = gapkit.scan(tmp_path)
    assert not any(isinstance(relation, pd.DataFrame) for relation in lazy.values())
    pd.testing.assert_frame_equal(compute(data, "pandas"), compute(lazy, "duckdb"), check_exact=False,
                                  rtol=1e-9, atol=1e-12)


def test_boolean_segments_read_the_same_on_both_engines(data):
    table = compute(data, "duckdb")
    assert set(table.loc[table.segment_by == "loyalty_member", "segment"]) <= {"True", "False", "(missing)"}


def _kept_tables(connection) -> list[str]:
    return [row[0] for row in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_gapkit_kept_%'").fetchall()]


def test_duckdb_keeps_shared_intermediates_only_during_the_call(data, tmp_path, monkeypatch):
    """First orders and first follow-ups are temporary tables while a call runs, dropped after it,
    also when it fails: a gapkit.scan connection outlives the call and would hold their memory."""
    from gapkit.measure import _duckdb as sql
    from gapkit.measure import engine as measure

    gapkit.write_parquet(data, tmp_path)
    connection = measure.duckdb_connection()
    lazy = gapkit.scan(tmp_path, connection=connection)
    seen = []
    real_summarise = sql.summarise

    def summarise(*args, **kwargs):
        seen.append(_kept_tables(connection))
        return real_summarise(*args, **kwargs)

    monkeypatch.setattr(sql, "summarise", summarise)
    first = compute(lazy, "duckdb")
    assert len(seen[0]) == 2  # delivered orders with their first follow-up; customers' first orders
    assert _kept_tables(connection) == []
    pd.testing.assert_frame_equal(first, compute(lazy, "duckdb"))  # the scan still serves a second call

    def failing(*args, **kwargs):
        raise RuntimeError("stopped midway")

    monkeypatch.setattr(sql, "summarise", failing)
    with pytest.raises(RuntimeError, match="stopped midway"):
        compute(lazy, "duckdb")
    assert _kept_tables(connection) == []


def test_goal_baselines_are_the_same_on_both_engines(data):
    """Report 1 computes the goals' current levels on the configured engine (``engine: duckdb``)."""
    by = ["segment", "channel"]
    levels = {}
    for engine in ("pandas", "duckdb"):
        monthly = gapkit.kpis(data, as_of=AS_OF, by=by, period="M", engine=engine)
        levels[engine] = gapkit.baseline.current_levels(data, AS_OF, monthly, by=by, engine=engine).sort_values(
            ["kpi", "segment_by", "segment"]).reset_index(drop=True)
    assert len(levels["pandas"]) > 50
    pd.testing.assert_frame_equal(levels["pandas"], levels["duckdb"], check_exact=False, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_data_shape_gives_the_same_kpis_on_both_engines(shape):
    """The exports of tests/shapes.py (no customers, date-only timestamps, numeric segment labels,
    missing segments...): DuckDB's compiled queries must not lean on what the sample has."""
    data = gapkit.validate(SHAPES[shape]())
    by = adapt.segment_columns(data, None)
    tables = {engine: gapkit.kpis(data, as_of=AS_OF, by=by, period="M", engine=engine)
              .sort_values(["kpi", "period", "segment_by", "segment"]).reset_index(drop=True)
              for engine in ("pandas", "duckdb", "polars")}
    assert len(tables["pandas"]) > 0
    for other in ("duckdb", "polars"):
        assert tables["pandas"].attrs["skipped"] == tables[other].attrs["skipped"], other
        pd.testing.assert_frame_equal(tables["pandas"], tables[other], check_exact=False, rtol=1e-9, atol=1e-12)


def test_medians_agree_when_the_groups_outgrow_16_bit_codes(data):
    """By customer and month the median KPIs make more than 65,535 possible groups: the DuckDB
    engine's group codes then take 64 bits (not a radix sort of 16-bit codes)."""
    medians = ["first_response_hours", "resolution_hours", "followup_latency_days", "delivery_days"]
    assert len(medians) * data["customers"]["customer_id"].nunique() * 18 > 65_535
    tables = [gapkit.kpis(data, as_of=AS_OF, by=["customer_id"], period="M", kpis=medians, engine=engine)
              .sort_values(["kpi", "period", "segment_by", "segment"]).reset_index(drop=True)
              for engine in ("pandas", "duckdb", "polars")]
    assert (tables[0]["segment_by"] == "customer_id").sum() > 1000
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(tables[0], tables[2], check_exact=False, rtol=1e-9, atol=1e-12)


def test_missing_ids_read_the_same_on_both_engines(data):
    # the pandas engine joins on integer codes of customer_id and order_id: a missing id stays missing
    tables = {name: frame.copy() for name, frame in data.items()}
    tables["followups"].loc[tables["followups"].index[::7], "order_id"] = None
    tables["tickets"].loc[tables["tickets"].index[::5], "customer_id"] = None
    tables["referrals"].loc[tables["referrals"].index[::3], "customer_id"] = None
    on_pandas, on_duckdb = compute(tables, "pandas"), compute(tables, "duckdb")
    assert "(missing)" in set(on_pandas.loc[on_pandas.segment_by == "segment", "segment"])
    pd.testing.assert_frame_equal(on_pandas, on_duckdb, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(on_pandas, compute(tables, "polars"), check_exact=False, rtol=1e-9, atol=1e-12)
