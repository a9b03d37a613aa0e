"""The unit-level analyses (impact designs, their reach, key drivers) build their units on the
configured engine (issue 30, item 2): the same units, so the same figures as on pandas, and the
same seeded samples whatever order an engine hands the rows back in."""

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.analysis._sampling import of_customers, stratified_sample

AS_OF = "2025-06-30"
IMPACT_KPIS = ["csat", "repeat_purchase_rate", "first_response_hours"]


@pytest.fixture(scope="module")
def data():
    return gapkit.datasets.sample()


def assert_same_figures(left: pd.DataFrame, right: pd.DataFrame, tolerance: float = 1e-9):
    assert list(left.columns) == list(right.columns) and len(left) == len(right) > 0
    numbers = left.select_dtypes("number").columns
    assert len(numbers)
    np.testing.assert_allclose(left[numbers].to_numpy(float), right[numbers].to_numpy(float), rtol=0,
                               atol=tolerance, equal_nan=True)
    words = left.columns.difference(numbers)
    pd.testing.assert_frame_equal(left[words].astype("str"), right[words].astype("str"))


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_impact_and_its_money_are_the_same_on_every_engine(data, engine):
    config = gapkit.datasets.sample_config()
    on_pandas = gapkit.impact.measure(data, AS_OF, IMPACT_KPIS)
    on_engine = gapkit.impact.measure(data, AS_OF, IMPACT_KPIS, engine=engine)
    assert_same_figures(on_pandas.table, on_engine.table)
    money = gapkit.money.evaluate(on_pandas, data, config.valuation, AS_OF)
    assert_same_figures(money.table, gapkit.money.evaluate(on_engine, data, config.valuation, AS_OF,
                                                           engine=engine).table)


def test_an_impact_sample_is_the_same_on_every_engine(data):
    """Past max_units the customers are drawn in sorted order, not in the rows' order."""
    on_pandas = gapkit.impact.measure(data, AS_OF, ["csat"], max_units=600, seed=4).table
    on_duckdb = gapkit.impact.measure(data, AS_OF, ["csat"], max_units=600, seed=4, engine="duckdb").table
    assert on_pandas["note"].str.contains("random sample").any()
    assert_same_figures(on_pandas, on_duckdb)


@pytest.mark.parametrize("max_units", [None, 900])
def test_key_drivers_are_the_same_on_duckdb(data, max_units):
    on_pandas = gapkit.drivers.key_drivers(data, AS_OF, controls=["segment"], max_units=max_units)
    on_duckdb = gapkit.drivers.key_drivers(data, AS_OF, controls=["segment"], max_units=max_units, engine="duckdb")
    assert on_pandas.n == on_duckdb.n and (max_units is None) == (on_pandas.n == on_pandas.population)
    assert_same_figures(on_pandas.table, on_duckdb.table)


def test_units_come_back_in_the_same_order_on_duckdb(data):
    first = gapkit.units(data, "repeat_purchase_rate", AS_OF, by=["segment"], engine="duckdb")
    again = gapkit.units(data, "repeat_purchase_rate", AS_OF, by=["segment"], engine="duckdb")
    pd.testing.assert_frame_equal(first, again)
    assert first["anchor"].is_monotonic_increasing


def test_samples_do_not_depend_on_the_order_of_the_rows():
    rng = np.random.default_rng(0)
    units = pd.DataFrame({"order_id": [f"O{i:06d}" for i in range(6000)],
                          "customer_id": [f"C{i % 2500:05d}" for i in range(6000)],
                          "value": rng.integers(0, 2, 6000).astype(float), "segment": rng.choice(list("ABC"), 6000)})
    shuffled = units.sample(frac=1.0, random_state=7)
    for draw in (lambda f: of_customers(f, 2000, seed=5)[0],
                 lambda f: stratified_sample(f, ["value", "segment"], 2000, seed=5, notes=[])):
        assert sorted(draw(units)["order_id"]) == sorted(draw(shuffled)["order_id"])
    units_without_customers = units.drop(columns="customer_id")
    assert (sorted(of_customers(units_without_customers, 2000, seed=5)[0]["order_id"])
            == sorted(of_customers(units_without_customers.iloc[::-1], 2000, seed=5)[0]["order_id"]))


def test_gaps_test_median_goals_on_the_units_of_any_engine(data):
    config = gapkit.datasets.sample_config()
    assert any(gapkit.KPIS[goal.kpi].kind == "median" for goal in config.goals)  # the sign test reads units
    kpi_table = gapkit.kpis(data, AS_OF, by=["segment"], period="M")
    on_pandas = gapkit.gaps.gaps(config.goals, kpi_table, data=data, as_of=AS_OF)
    on_duckdb = gapkit.gaps.gaps(config.goals, kpi_table, data=data, as_of=AS_OF, engine="duckdb")
    assert_same_figures(on_pandas.table, on_duckdb.table, tolerance=1e-12)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_units_can_leave_out_the_columns_an_analysis_does_not_read(data, engine):
    every = gapkit.units(data, "csat", AS_OF, by=["segment"], engine=engine)
    some = gapkit.units(data, "csat", AS_OF, by=["segment"], engine=engine, columns=["customer_id", "no_such"])
    assert list(some.columns) == ["response_id", "customer_id", "anchor", "value", "segment", "period"]
    pd.testing.assert_frame_equal(some, every[list(some.columns)])
    bare = gapkit.units(data, "csat", AS_OF, engine=engine, columns=[])
    assert list(bare.columns) == ["response_id", "anchor", "value", "period"]  # the unit's key always


def test_driver_intervals_and_randomization_tests_do_not_depend_on_the_order_of_the_rows(data):
    """On Olist, DuckDB handed the units back in another order than pandas and the bootstrap
    intervals of the importances moved by up to 0.12: the model now reads units in key order."""
    shuffled = {name: frame.sample(frac=1.0, random_state=11) for name, frame in data.items()}
    on_data = gapkit.drivers.key_drivers(data, AS_OF, controls=["segment"]).table
    assert_same_figures(on_data, gapkit.drivers.key_drivers(shuffled, AS_OF, controls=["segment"]).table)
    from gapkit.impact.ab import _customer_groups

    rows = pd.DataFrame({"customer_id": ["c3", "c1", "c3", "c2", None]})
    assert _customer_groups(rows).tolist() == [2, 0, 2, 1, 3]  # by id, not by first appearance
