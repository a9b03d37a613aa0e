"""One definition, several engines: pandas, DuckDB over pandas frames, DuckDB over Parquet."""

import pandas as pd
import pytest

import gapkit
from gapkit import sample

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


def test_duckdb_over_parquet_matches_pandas(data, tmp_path):
    gapkit.write_parquet(data, tmp_path)
    lazy = gapkit.scan(tmp_path)
    assert not any(isinstance(relation, pd.DataFrame) for relation in lazy.values())
    pd.testing.assert_frame_equal(compute(data, "pandas"), compute(lazy, "duckdb"), check_exact=False,
                                  rtol=1e-9, atol=1e-12)


def test_boolean_segments_read_the_same_on_both_engines(data):
    table = compute(data, "duckdb")
    assert set(table.loc[table.segment_by == "loyalty_member", "segment"]) <= {"True", "False", "(missing)"}


def test_missing_ids_read_the_same_on_both_engines(data):
    # the pandas engine joins on integer codes of customer_id and order_id: a missing id stays missing
    tables = {name: frame.copy() for name, frame in data.items()}
    tables["followups"].loc[tables["followups"].index[::7], "order_id"] = None
    tables["tickets"].loc[tables["tickets"].index[::5], "customer_id"] = None
    tables["referrals"].loc[tables["referrals"].index[::3], "customer_id"] = None
    on_pandas, on_duckdb = compute(tables, "pandas"), compute(tables, "duckdb")
    assert "(missing)" in set(on_pandas.loc[on_pandas.segment_by == "segment", "segment"])
    pd.testing.assert_frame_equal(on_pandas, on_duckdb, check_exact=False, rtol=1e-9, atol=1e-12)
