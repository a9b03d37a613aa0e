"""The Spark engine gives the pandas engine's KPI table, on Spark tables and on pandas tables.

Spark needs pyspark (``pip install -e ".[test,spark]"``) and a Java runtime. Without them these
tests skip on a user's machine and fail under CI (the CI variable set), so that a green CI run
cannot hide a Spark engine that was never exercised.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import narwhals as nw
import pandas as pd
import pytest

import gapkit
from gapkit import sample
from gapkit.contract._stored import StoredTables
from gapkit.contract.catalog import MEDIAN
from gapkit.measure.spark import is_utc

AS_OF = "2025-06-30"
KEYS = ["kpi", "period", "segment_by", "segment"]
# the *_bh KPIs too: a zone west of UTC with daylight saving and holidays (as in test_engines)
SCHEDULE = {"time_zone": "America/Los_Angeles", "hours": "08:00-18:00", "holidays": "US-CA"}


def why_spark_cannot_run() -> str | None:
    from gapkit.measure.spark import why_unavailable

    return why_unavailable()


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for the module: starting Spark takes tens of seconds."""
    reason = why_spark_cannot_run()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark engine tests: {reason}", pytrace=False)
        pytest.skip(reason)
    session = gapkit.spark.local_session("local[1]", **{"spark.sql.shuffle.partitions": "2"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data():
    return gapkit.validate(sample.generate(n_orders=3000, seed=3))


def compute(tables, engine, **options):
    table = gapkit.kpis(tables, as_of=AS_OF, by=["segment"], period="M", engine=engine,
                        params={"business_hours": SCHEDULE}, **options)
    return table.sort_values(KEYS).reset_index(drop=True)


def test_spark_and_pandas_tables_give_the_pandas_kpis_overall_by_segment_and_by_month(spark, data):
    # most tables as Spark DataFrames, as read from a metastore; the others as pandas frames,
    # which the engine hands to the same session
    in_pandas = {"customers", "tickets", "referrals"}
    tables = {name: frame if name in in_pandas else spark.createDataFrame(frame) for name, frame in data.items()}
    on_pandas, on_spark = compute(data, "pandas"), compute(tables, "spark")
    assert set(on_pandas.kpi) == set(gapkit.KPIS)
    assert {"all", "segment"} <= set(on_pandas.segment_by) and on_pandas.period.str.match(r"\d{4}-\d{2}").any()
    assert on_spark.attrs["skipped"] == on_pandas.attrs["skipped"]
    pd.testing.assert_frame_equal(on_spark[KEYS], on_pandas[KEYS])
    assert (on_spark.n == on_pandas.n).all()
    medians = on_pandas.kpi.map(lambda k: gapkit.KPIS[k].kind == MEDIAN)
    assert medians.any()
    for column in ["value", "ci_low", "ci_high"]:  # order statistics: the same observed values
        pd.testing.assert_series_equal(on_spark.loc[medians, column], on_pandas.loc[medians, column], check_exact=True)
    pd.testing.assert_frame_equal(on_spark, on_pandas, check_exact=False, rtol=1e-9, atol=1e-12)


# a mean, two medians (one on the business clock) and a cohort share, over surveys, tickets, orders,
# follow-ups, referrals and the customers' segments: a subset, since each KPI costs Spark seconds of
# jobs (the whole catalog runs in the tests above and below)
SOME_KPIS = ["nps", "first_response_hours_bh", "followup_latency_days", "referral_rate"]


def assert_same_kpis(on_spark, on_pandas):
    pd.testing.assert_frame_equal(on_spark[KEYS], on_pandas[KEYS])
    assert (on_spark.n == on_pandas.n).all()
    medians = on_pandas.kpi.map(lambda k: gapkit.KPIS[k].kind == MEDIAN)
    for column in ["value", "ci_low", "ci_high"]:
        pd.testing.assert_series_equal(on_spark.loc[medians, column], on_pandas.loc[medians, column], check_exact=True)
    pd.testing.assert_frame_equal(on_spark, on_pandas, check_exact=False, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def stored(data, tmp_path_factory):
    """``data`` as a run keeps it: each checked table a Parquet file, read on first use."""
    folder = tmp_path_factory.mktemp("validated")
    for name, frame in data.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return dataclasses.replace(data, tables=StoredTables({name: folder / f"{name}.parquet" for name in data}))


def test_a_runs_stored_tables_are_read_by_spark_from_their_parquet_files(spark, data, stored):
    # issue 30: in a run, Spark reads the checked Parquet files itself; no table's rows pass
    # through pandas on the driver, and the timestamps are the same UTC instants
    tables = gapkit.spark.spark_tables(stored)
    orders = tables["orders"].select("order_id", "ordered_at", "delivered_at").collect("pandas").to_native()
    orders = gapkit.spark.zoned_utc(orders).sort_values("order_id").reset_index(drop=True)
    want = data["orders"][["order_id", "ordered_at", "delivered_at"]].sort_values("order_id").reset_index(drop=True)
    assert orders["ordered_at"].dt.tz is not None and len(orders) == len(want)
    for column in ["ordered_at", "delivered_at"]:
        assert orders[column].dt.as_unit("us").equals(want[column].dt.as_unit("us")), column
    on_spark = compute(stored, "spark", kpis=SOME_KPIS)
    assert stored.tables.loaded == ()
    assert_same_kpis(on_spark, compute(data, "pandas", kpis=SOME_KPIS))


def test_metastore_tables_read_with_spark_table_give_the_pandas_kpis(spark, stored, data):
    # on a cluster: {name: spark.table("db.name")}; here global temporary views stand in for the
    # metastore ("global_temp" is their database), one over Parquet, the others over rows
    for name in data:
        path = str(stored.tables.paths[name])
        native = spark.read.parquet(path) if name == "orders" else spark.createDataFrame(data[name])
        native.createOrReplaceGlobalTempView(f"gapkit_{name}")
    try:
        tables = {name: spark.table(f"global_temp.gapkit_{name}") for name in data}
        on_spark = compute(tables, "spark", kpis=SOME_KPIS[:3])
    finally:
        for name in data:
            spark.catalog.dropGlobalTempView(f"gapkit_{name}")
    assert_same_kpis(on_spark, compute(data, "pandas", kpis=SOME_KPIS[:3]))


def test_units_come_back_from_spark_as_the_pandas_engine_gives_them(spark, data):
    # unit-level analyses (drivers, impact) take a KPI's units back to pandas; here the pandas
    # tables go to the active session
    columns = ["ticket_id", "anchor", "created_at", "period", "segment", "value"]

    def tickets(engine):
        units = gapkit.units(data, "first_response_hours", AS_OF, by=["segment"], engine=engine)
        return units[columns].sort_values("ticket_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(tickets("spark"), tickets("pandas"))


def test_durations_are_whole_seconds_truncated_toward_zero_as_on_pandas(spark):
    # narwhals leaves dt.total_seconds unimplemented on Spark; gapkit.spark supplies it
    start = pd.Timestamp("2025-03-30 12:00:00", tz="UTC")
    offsets = pd.to_timedelta([-90061.5, -1.5, -0.25, 0, 0.75, 2.5, 86400 * 400 + 0.999999], unit="s")
    # microseconds, as gapkit's tables hold them
    frame = pd.DataFrame({"start": [start] * len(offsets), "end": start + offsets}).astype("datetime64[us, UTC]")
    seconds = (nw.col("end") - nw.col("start")).dt.total_seconds().cast(nw.Float64).alias("seconds")
    on_pandas = nw.from_native(frame).select(seconds).to_native()["seconds"]
    on_spark = gapkit.spark.spark_tables({"t": frame})["t"].select(seconds).collect("pandas").to_native()["seconds"]
    assert on_pandas.tolist() == [-90061, -1, 0, 0, 0, 2, 86400 * 400]
    assert on_spark.tolist() == on_pandas.tolist()


def test_a_session_outside_utc_is_refused_with_the_fix(spark, data):
    spark.conf.set("spark.sql.session.timeZone", "America/Sao_Paulo")
    try:
        with pytest.raises(gapkit.ConfigError, match="spark.conf.set"):
            gapkit.kpis(data, as_of=AS_OF, kpis=["csat"], engine="spark")
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_utc_is_recognised_under_its_names():
    assert all(is_utc(zone) for zone in ["UTC", "Etc/UTC", "GMT", "Z", "+00:00"])
    assert not any(is_utc(zone) for zone in ["Europe/London", "America/Sao_Paulo", "+01:00", "", None, "Nowhere/City"])


def test_local_sessions_get_two_shuffle_partitions_per_worker_thread():
    # Spark's 200 made 1,600 tasks per KPI job at 1M orders on 2 cores (benchmarks/README.md)
    from gapkit.measure.spark import _local_cores

    assert [_local_cores(m) for m in ["local", "local[1]", "local[4]", "local[3, 2]"]] == [1, 1, 4, 3]
    assert _local_cores("local[*]") == (os.cpu_count() or 1)


def test_import_gapkit_does_not_import_pyspark():
    code = "import sys, gapkit, gapkit.spark; assert not [m for m in sys.modules if m.startswith('pyspark')]"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gapkit_run_with_engine_spark_gives_the_pandas_kpis(tmp_path):
    """The whole report with ``engine: spark`` (issue 30): report 1 computes the KPI table and the
    current levels in a local Spark session started by the notebook's kernel; both artifacts
    equal the pandas engine's on the same checked data, and the report says where they ran."""
    reason = why_spark_cannot_run()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark engine tests: {reason}", pytrace=False)
        pytest.skip(reason)
    from gapkit import config as configuration
    from gapkit.pipeline import runner
    from gapkit.report import adapt, publish

    root = Path(__file__).resolve().parents[1]
    settings = configuration.read(root / "gapkit.yml", data=str(root / "data" / "sample"), out=str(tmp_path / "r"),
                                  as_of=AS_OF).replace(engine="spark")
    assert runner.run(settings, progress=lambda _: None).status == "success"
    data = gapkit.load(root / "data" / "sample")
    segments = adapt.segment_columns(data, settings.segments, settings.goals)
    expected = gapkit.kpis(data, as_of=AS_OF, by=segments, period="M", params=settings.params)
    current = gapkit.baseline.current_levels(data, AS_OF, expected, by=segments, params=settings.params,
                                             months=settings.baseline_months)
    for name, frame in (("kpis.csv", expected), ("current.csv", current)):
        written = publish.read_csv(tmp_path / "r", name)
        keys = [c for c in KEYS if c in written]
        got = written.sort_values(keys).reset_index(drop=True)
        want = frame.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[keys].astype(str), want[keys].astype(str))
        assert len(got) == len(want) > 100
        assert (got["n"].to_numpy() == want["n"].to_numpy()).all(), name
        for column in ["value", "ci_low", "ci_high"]:
            pd.testing.assert_series_equal(got[column].astype(float), want[column].astype(float), check_exact=False,
                                           rtol=1e-9, atol=1e-12, check_names=False)
    report = (tmp_path / "r" / "01_current_state.html").read_text(encoding="utf-8")
    assert "computed on the spark engine" in report and "PySpark does not yet fully support" not in report
