"""Benchmark gapkit.load and gapkit.kpis against what a user would write by hand.

Compared, in one process, on synthetic data from ``gapkit.sample`` (seed fixed, no bad rows):

* load:  ``gapkit.load(csv_folder)`` vs a bare ``pandas.read_csv`` of every CSV in the folder
         (no options, no validation); the same for the Parquet copy (extra row);
* kpis:  ``gapkit.kpis(data, as_of, by=["segment"])`` on the pandas, DuckDB and Polars engines vs
         (a) a plain, vectorized pandas script computing the 18 contract KPIs and
             referral_conversion_rate overall and by customers' ``segment`` (n and value, no CIs),
         (b) a hand-written DuckDB SQL query over the same pandas DataFrames, and
         (c) a hand-tuned Polars lazy program over the same pandas DataFrames
             (``reference_polars.py``).

Before anything is timed, every reference must agree with every gapkit engine on n (exactly)
and value (1e-9 relative; medians exactly, to 2 ulp where Polars computes them) for every KPI,
overall and per segment: a benchmark comparing different work is worthless, so a mismatch
stops the run with the rows that differ.

Peak memory of each operation is measured in separate, untimed runs: with ``tracemalloc``
(Python/NumPy allocations only: memory that Arrow or DuckDB allocate natively is not seen) and
as the growth of the process RSS sampled every 5 ms (sees native memory; a lower bound). The
process's max RSS is printed at the end.

Usage::

    python benchmarks/bench_kpis.py [--sizes 100000 1000000] [--repeats 5] [--as-of 2025-06-30]
                                    [--quick] [--json FILE] [--regenerate]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import narwhals
import numpy as np
import pandas as pd

import gapkit
import gapkit.sample
from gapkit.measure.definitions import Params

HERE = Path(__file__).resolve().parent
DATA_ROOT = HERE / "data"
SEED = 7
MISSING = "(missing)"  # contract: a unit with a missing segment value goes to segment "(missing)"
MEDIAN_KPIS = {"first_response_hours", "resolution_hours", "followup_latency_days", "delivery_days"}
KPI_ORDER = [
    "csat", "csat_mean", "nps", "ces_mean", "survey_response_rate",
    "first_response_hours", "first_response_sla", "resolution_hours", "resolution_rate",
    "fcr_rate", "reopen_rate", "followup_coverage", "followup_latency_days", "personalization_rate",
    "on_time_delivery_rate", "delivery_days", "repeat_purchase_rate", "referral_rate", "referral_conversion_rate",
]


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def ensure_data(size: int, regenerate: bool = False) -> tuple[Path, Path]:
    """``benchmarks/data/<size>/{csv,parquet}``, generated once and reused while the parameters match."""
    base = DATA_ROOT / str(size)
    params = {"n_orders": size, "seed": SEED, "bad_rows": False}
    folders = {fmt: base / fmt for fmt in ("csv", "parquet")}

    def cached(folder: Path, fmt: str) -> bool:
        truth = folder / "ground_truth.json"
        if not (truth.exists() and (folder / f"orders.{fmt}").exists()):
            return False
        try:
            generated = json.loads(truth.read_text())["generated"]
        except (ValueError, KeyError):
            return False
        return all(generated.get(k) == v for k, v in params.items())

    todo = [fmt for fmt, folder in folders.items() if regenerate or not cached(folder, fmt)]
    if todo:
        t0 = time.perf_counter()
        tables = gapkit.sample.generate(n_orders=size, seed=SEED, bad_rows=False)
        for fmt in todo:
            for old in folders[fmt].glob("*"):
                old.unlink()
            gapkit.sample.write(tables, folders[fmt], fmt=fmt, params=params)
        print(f"# generated {size:,} orders into {base} ({', '.join(todo)}) in {time.perf_counter() - t0:.1f} s",
              flush=True)
        del tables
        gc.collect()
    return folders["csv"], folders["parquet"]


def ensure_parquet_only(size: int, regenerate: bool = False) -> Path:
    """``benchmarks/data/<size>/parquet`` alone, for sizes only read through ``gapkit.scan``.

    ``gapkit.sample.generate`` makes at most ``MAX_ORDERS`` orders at a time, so a larger size is
    generated in chunks (seed SEED + chunk) whose ids get a chunk prefix ("a-O0000001",
    "b-O0000001", ...): each chunk brings its own customers, and DuckDB concatenates the chunks
    into one Parquet file per table. The interventions and costs of the first chunk are kept.
    No CSV is written (10M orders would be ~3 GB of CSV that no benchmark reads).
    """
    folder = DATA_ROOT / str(size) / "parquet"
    params = {"n_orders": size, "seed": SEED, "bad_rows": False}
    truth = folder / "ground_truth.json"
    if not regenerate and truth.exists() and (folder / "orders.parquet").exists():
        try:
            generated = json.loads(truth.read_text())["generated"]
        except (ValueError, KeyError):
            generated = {}
        if all(generated.get(k) == v for k, v in params.items()):
            return folder
    t0 = time.perf_counter()
    chunk_size = gapkit.sample.parameters.MAX_ORDERS
    chunks = [min(chunk_size, size - start) for start in range(0, size, chunk_size)]
    parts = folder.parent / "chunks"
    for i, n in enumerate(chunks):
        tables = gapkit.sample.generate(n_orders=n, seed=SEED + i, bad_rows=False)
        gapkit.sample.write(tables, parts / str(i), fmt="parquet", params={**params, "chunk": i})
        del tables
        gc.collect()
        print(f"# generated chunk {i + 1}/{len(chunks)} ({n:,} orders) in {time.perf_counter() - t0:.0f} s", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    counts = {}
    for table in sorted(p.stem for p in (parts / "0").glob("*.parquet")):
        if table in ("interventions", "costs"):  # the same few rows in every chunk
            selects = [f"SELECT * FROM read_parquet('{parts / '0' / f'{table}.parquet'}')"]
        else:
            columns = con.execute(f"SELECT * FROM read_parquet('{parts / '0' / f'{table}.parquet'}') LIMIT 0").description
            selects = []
            for i in range(len(chunks)):
                prefix = chr(ord("a") + i)
                exprs = [f"'{prefix}-' || \"{c[0]}\" AS \"{c[0]}\"" if c[0].endswith("_id") and c[0] != "intervention_id"
                         else f'"{c[0]}"' for c in columns]
                selects.append(f"SELECT {', '.join(exprs)} FROM read_parquet('{parts / str(i) / f'{table}.parquet'}')")
        con.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{folder / f'{table}.parquet'}' (FORMAT parquet)")
        counts[table] = con.execute(f"SELECT count(*) FROM read_parquet('{folder / f'{table}.parquet'}')").fetchone()[0]
    con.close()
    truth.write_text(json.dumps({"generated": {**params, "format": "parquet", "chunks": chunks,
                                               "row_counts": counts}}, indent=2) + "\n")
    for part in sorted(parts.glob("*/*")):
        part.unlink()
    for part in sorted(parts.glob("*")):
        part.rmdir()
    parts.rmdir()
    print(f"# wrote {size:,} orders as Parquet into {folder} in {time.perf_counter() - t0:.0f} s: {counts}", flush=True)
    return folder


def bare_read_csv(folder: Path) -> dict[str, pd.DataFrame]:
    """What a user does without gapkit: read every table file, no options, no checks."""
    return {f.stem: pd.read_csv(f) for f in sorted(folder.glob("*.csv"))}


def bare_read_parquet(folder: Path) -> dict[str, pd.DataFrame]:
    return {f.stem: pd.read_parquet(f) for f in sorted(folder.glob("*.parquet"))}


def end_of_day(as_of: str) -> pd.Timestamp:
    """Last instant (UTC) of the as_of day; later events are ignored (contract section 2)."""
    return pd.Timestamp(as_of).tz_localize("UTC").normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------
# Reference (a): plain pandas, written the way an analyst would, from the contract's wording
# ---------------------------------------------------------------------------------------------
def plain_pandas_kpis(data, as_of: str, p: Params = Params()) -> pd.DataFrame:
    eod = end_of_day(as_of)
    hour, day = pd.Timedelta(hours=1), pd.Timedelta(days=1)
    segment_of = data["customers"].set_index("customer_id")["segment"]

    def events(name, created, later, columns):
        """Rows that exist by as_of, with later timestamps blanked ("not yet happened")."""
        df = data[name]
        df = df.loc[df[created] <= eod, columns].copy()
        for c in later:
            df[c] = df[c].where(df[c] <= eod)
        df["segment"] = df["customer_id"].map(segment_of).fillna(MISSING)
        return df

    orders = events("orders", "ordered_at", ["delivered_at"],
                    ["order_id", "customer_id", "ordered_at", "promised_at", "delivered_at", "status"])
    followups = events("followups", "sent_at", [], ["order_id", "customer_id", "sent_at", "personalized"])
    tickets = events("tickets", "created_at", ["first_response_at", "resolved_at"],
                     ["customer_id", "created_at", "first_response_at", "resolved_at", "contacts", "reopened"])
    surveys = events("surveys", "sent_at", ["answered_at"], ["customer_id", "sent_at", "answered_at", "csat", "nps", "ces"])
    referrals = events("referrals", "referred_at", [], ["customer_id", "referred_at", "converted"])

    rows = []

    def add(kpi, segment: pd.Series, value: pd.Series, how: str = "mean"):
        value = value.astype("float64")
        rows.append((kpi, "all", len(value), getattr(value, how)()))
        agg = value.groupby(segment.to_numpy(), sort=False).agg(["size", how])
        rows.extend((kpi, s, n, v) for s, n, v in agg.itertuples())

    def hours(later, earlier):
        return (later - earlier).dt.total_seconds() / 3600

    def days(later, earlier):
        return (later - earlier).dt.total_seconds() / 86400

    # surveys
    answered = surveys[surveys["answered_at"].notna()]
    with_csat = answered[answered["csat"].notna()]
    add("csat", with_csat["segment"], with_csat["csat"] >= 4)
    add("csat_mean", with_csat["segment"], with_csat["csat"])
    with_nps = answered[answered["nps"].notna()]
    nps = pd.DataFrame({"promoter": (with_nps["nps"] >= 9).astype(float),
                        "detractor": (with_nps["nps"] <= 6).astype(float)})
    rows.append(("nps", "all", len(nps), 100 * (nps["promoter"].mean() - nps["detractor"].mean())))
    shares = nps.groupby(with_nps["segment"].to_numpy(), sort=False).agg(
        n=("promoter", "size"), promoter=("promoter", "mean"), detractor=("detractor", "mean"))
    rows.extend(("nps", s, n, 100 * (pr - de)) for s, n, pr, de in shares.itertuples())
    with_ces = answered[answered["ces"].notna()]
    add("ces_mean", with_ces["segment"], with_ces["ces"])
    # only surveys whose response window has closed by as_of; a late answer is no response
    sent = surveys[surveys["sent_at"] <= eod - p.response_days * day]
    add("survey_response_rate", sent["segment"], sent["answered_at"] - sent["sent_at"] <= p.response_days * day)

    # tickets
    responded = tickets[tickets["first_response_at"].notna()]
    add("first_response_hours", responded["segment"], hours(responded["first_response_at"], responded["created_at"]),
        "median")
    aged = tickets[tickets["created_at"] <= eod - p.sla_hours * hour]
    in_sla = aged["first_response_at"] - aged["created_at"] <= p.sla_hours * hour  # NaT (unanswered) -> False
    add("first_response_sla", aged["segment"], in_sla)
    resolved = tickets[tickets["resolved_at"].notna()]
    add("resolution_hours", resolved["segment"], hours(resolved["resolved_at"], resolved["created_at"]), "median")
    aged = tickets[tickets["created_at"] <= eod - p.resolution_days * day]
    add("resolution_rate", aged["segment"], aged["resolved_at"] - aged["created_at"] <= p.resolution_days * day)
    # reopen and first-contact resolution: only tickets resolved reopen_days before as_of ends
    settled = resolved[resolved["resolved_at"] <= eod - p.reopen_days * day]
    fcr = settled[settled["contacts"].notna() & settled["reopened"].notna()]
    add("fcr_rate", fcr["segment"], (fcr["contacts"] == 1) & ~fcr["reopened"])
    reopen = settled[settled["reopened"].notna()]
    add("reopen_rate", reopen["segment"], reopen["reopened"])

    # follow-ups after delivery
    delivered = orders[orders["delivered_at"].notna()]
    aged = delivered[delivered["delivered_at"] <= eod - p.followup_days * day]
    sends = followups[["order_id", "sent_at"]].merge(aged[["order_id", "delivered_at"]], on="order_id")
    first_sent = sends[sends["sent_at"] >= sends["delivered_at"]].groupby("order_id")["sent_at"].min()
    lag = aged["order_id"].map(first_sent) - aged["delivered_at"]
    covered = lag <= p.followup_days * day  # no follow-up (NaT) -> False
    add("followup_coverage", aged["segment"], covered)
    add("followup_latency_days", aged.loc[covered, "segment"], lag[covered].dt.total_seconds() / 86400, "median")
    personal = followups[followups["personalized"].notna()]
    add("personalization_rate", personal["segment"], personal["personalized"])

    # delivery
    promised = orders["promised_at"].dropna()
    whole_days = len(promised) > 0 and bool((promised == promised.dt.normalize()).all())
    promise = orders[orders["promised_at"].notna()]
    promise = promise[~promise["status"].str.strip().str.lower().isin(["canceled", "cancelled"])]
    # a whole-day promise falls due at the end of its day; still undelivered when due = late
    due = promise[promise["promised_at"] <= (eod.normalize() if whole_days else eod)]
    late_by = due["delivered_at"] - due["promised_at"]
    add("on_time_delivery_rate", due["segment"], late_by < day if whole_days else late_by <= pd.Timedelta(0))
    add("delivery_days", delivered["segment"], days(delivered["delivered_at"], delivered["ordered_at"]), "median")

    # first-order cohorts
    first = orders.groupby("customer_id", sort=False)["ordered_at"].min().rename("first_at")

    def cohort(kpi, event_times: pd.DataFrame, when: str, window_days: float, strictly_later: bool):
        cohort_ = first[first <= eod - window_days * day]
        ev = event_times[["customer_id", when]].merge(cohort_, left_on="customer_id", right_index=True)
        lag_ = ev[when] - ev["first_at"]
        # a second order at the first order's instant is the same purchase occasion
        ev = ev[((lag_ > pd.Timedelta(0)) if strictly_later else (lag_ >= pd.Timedelta(0))) & (lag_ <= window_days * day)]
        hits = ev.groupby("customer_id", sort=False).size()
        flag = cohort_.index.map(hits).fillna(0).to_numpy() >= 1
        segment = pd.Series(cohort_.index.map(segment_of)).fillna(MISSING)
        add(kpi, segment, pd.Series(flag))

    cohort("repeat_purchase_rate", orders, "ordered_at", p.repeat_days, strictly_later=True)
    cohort("referral_rate", referrals, "referred_at", p.referral_days, strictly_later=False)
    converted = referrals[referrals["converted"].notna()]
    add("referral_conversion_rate", converted["segment"], converted["converted"])

    return pd.DataFrame(rows, columns=["kpi", "segment", "n", "value"])


# ---------------------------------------------------------------------------------------------
# Reference (b): hand-written DuckDB SQL over the same pandas DataFrames
# ---------------------------------------------------------------------------------------------
SQL = """
WITH
orders_ AS (
    SELECT order_id, customer_id, ordered_at, promised_at, status,
           CASE WHEN delivered_at <= {eod} THEN delivered_at END AS delivered_at
    FROM orders WHERE ordered_at <= {eod}),
followups_ AS (SELECT order_id, customer_id, sent_at, personalized FROM followups WHERE sent_at <= {eod}),
tickets_ AS (
    SELECT customer_id, created_at, contacts, reopened,
           CASE WHEN first_response_at <= {eod} THEN first_response_at END AS first_response_at,
           CASE WHEN resolved_at <= {eod} THEN resolved_at END AS resolved_at
    FROM tickets WHERE created_at <= {eod}),
surveys_ AS (
    SELECT customer_id, sent_at, csat, nps, ces, CASE WHEN answered_at <= {eod} THEN answered_at END AS answered_at
    FROM surveys WHERE sent_at <= {eod}),
referrals_ AS (SELECT customer_id, referred_at, converted FROM referrals WHERE referred_at <= {eod}),
delivered AS (
    SELECT o.customer_id, o.delivered_at,
           min(f.sent_at) FILTER (WHERE f.sent_at >= o.delivered_at) AS first_sent
    FROM orders_ o LEFT JOIN followups_ f USING (order_id)
    WHERE o.delivered_at IS NOT NULL AND o.delivered_at <= {eod} - INTERVAL ({followup_days} * 86400) SECOND
    GROUP BY o.order_id, o.customer_id, o.delivered_at),
whole_day_promises AS (
    SELECT count(*) > 0 AND count(*) FILTER (WHERE promised_at <> date_trunc('day', promised_at)) = 0 AS yes
    FROM orders_ WHERE promised_at IS NOT NULL),
firsts AS (SELECT customer_id, min(ordered_at) AS first_at FROM orders_ GROUP BY customer_id),
repeat_ AS (
    SELECT c.customer_id, count(o.customer_id) >= 1 AS hit
    FROM firsts c LEFT JOIN orders_ o
      ON o.customer_id = c.customer_id AND o.ordered_at > c.first_at
     AND o.ordered_at <= c.first_at + INTERVAL ({repeat_days} * 86400) SECOND
    WHERE c.first_at <= {eod} - INTERVAL ({repeat_days} * 86400) SECOND
    GROUP BY c.customer_id),
referral_ AS (
    SELECT c.customer_id, count(r.customer_id) >= 1 AS hit
    FROM firsts c LEFT JOIN referrals_ r
      ON r.customer_id = c.customer_id AND r.referred_at >= c.first_at
     AND r.referred_at <= c.first_at + INTERVAL ({referral_days} * 86400) SECOND
    WHERE c.first_at <= {eod} - INTERVAL ({referral_days} * 86400) SECOND
    GROUP BY c.customer_id),
means AS (
    SELECT 'csat' AS kpi, customer_id, (csat >= 4)::DOUBLE AS v FROM surveys_
        WHERE answered_at IS NOT NULL AND csat IS NOT NULL
    UNION ALL SELECT 'csat_mean', customer_id, csat FROM surveys_ WHERE answered_at IS NOT NULL AND csat IS NOT NULL
    UNION ALL SELECT 'nps', customer_id, 100.0 * ((nps >= 9)::INT - (nps <= 6)::INT) FROM surveys_
        WHERE answered_at IS NOT NULL AND nps IS NOT NULL
    UNION ALL SELECT 'ces_mean', customer_id, ces FROM surveys_ WHERE answered_at IS NOT NULL AND ces IS NOT NULL
    UNION ALL SELECT 'survey_response_rate', customer_id,
        coalesce(answered_at - sent_at <= INTERVAL ({response_days} * 86400) SECOND, false)::DOUBLE
        FROM surveys_ WHERE sent_at <= {eod} - INTERVAL ({response_days} * 86400) SECOND
    UNION ALL SELECT 'first_response_sla', customer_id,
        coalesce(first_response_at - created_at <= INTERVAL ({sla_hours} * 3600) SECOND, false)::DOUBLE
        FROM tickets_ WHERE created_at <= {eod} - INTERVAL ({sla_hours} * 3600) SECOND
    UNION ALL SELECT 'resolution_rate', customer_id,
        coalesce(resolved_at - created_at <= INTERVAL ({resolution_days} * 86400) SECOND, false)::DOUBLE
        FROM tickets_ WHERE created_at <= {eod} - INTERVAL ({resolution_days} * 86400) SECOND
    UNION ALL SELECT 'fcr_rate', customer_id, (contacts = 1 AND NOT reopened)::DOUBLE FROM tickets_
        WHERE resolved_at <= {eod} - INTERVAL ({reopen_days} * 86400) SECOND AND contacts IS NOT NULL
          AND reopened IS NOT NULL
    UNION ALL SELECT 'reopen_rate', customer_id, reopened::DOUBLE FROM tickets_
        WHERE resolved_at <= {eod} - INTERVAL ({reopen_days} * 86400) SECOND AND reopened IS NOT NULL
    UNION ALL SELECT 'followup_coverage', customer_id,
        coalesce(first_sent - delivered_at <= INTERVAL ({followup_days} * 86400) SECOND, false)::DOUBLE FROM delivered
    UNION ALL SELECT 'personalization_rate', customer_id, personalized::DOUBLE FROM followups_
        WHERE personalized IS NOT NULL
    UNION ALL SELECT 'on_time_delivery_rate', customer_id,
        coalesce(CASE WHEN (SELECT yes FROM whole_day_promises) THEN delivered_at < promised_at + INTERVAL 1 DAY
                      ELSE delivered_at <= promised_at END, false)::DOUBLE
        FROM orders_ WHERE promised_at IS NOT NULL AND NOT coalesce(lower(trim(status)) IN ('canceled', 'cancelled'), false)
        AND promised_at <= CASE WHEN (SELECT yes FROM whole_day_promises) THEN date_trunc('day', {eod}) ELSE {eod} END
    UNION ALL SELECT 'repeat_purchase_rate', customer_id, hit::DOUBLE FROM repeat_
    UNION ALL SELECT 'referral_rate', customer_id, hit::DOUBLE FROM referral_
    UNION ALL SELECT 'referral_conversion_rate', customer_id, converted::DOUBLE FROM referrals_
        WHERE converted IS NOT NULL),
medians AS (
    SELECT 'first_response_hours' AS kpi, customer_id,
        (epoch_us(first_response_at) - epoch_us(created_at)) / 3.6e9 AS v
        FROM tickets_ WHERE first_response_at IS NOT NULL
    UNION ALL SELECT 'resolution_hours', customer_id, (epoch_us(resolved_at) - epoch_us(created_at)) / 3.6e9
        FROM tickets_ WHERE resolved_at IS NOT NULL
    UNION ALL SELECT 'followup_latency_days', customer_id, (epoch_us(first_sent) - epoch_us(delivered_at)) / 8.64e10
        FROM delivered WHERE first_sent - delivered_at <= INTERVAL ({followup_days} * 86400) SECOND
    UNION ALL SELECT 'delivery_days', customer_id, (epoch_us(delivered_at) - epoch_us(ordered_at)) / 8.64e10
        FROM orders_ WHERE delivered_at IS NOT NULL),
segmented AS (
    SELECT u.kpi, coalesce(c.segment, '{missing}') AS segment, u.v, false AS is_median
        FROM means u LEFT JOIN customers c USING (customer_id)
    UNION ALL
    SELECT u.kpi, coalesce(c.segment, '{missing}'), u.v, true
        FROM medians u LEFT JOIN customers c USING (customer_id))
SELECT kpi, CASE WHEN grouping(segment) = 1 THEN 'all' ELSE segment END AS segment, count(*) AS n,
       CASE WHEN any_value(is_median) THEN median(v) ELSE avg(v) END AS value
FROM segmented
GROUP BY GROUPING SETS ((kpi), (kpi, segment))
"""


def duckdb_sql_kpis(data, as_of: str, p: Params = Params(), naive: bool = False) -> pd.DataFrame:
    """The hand SQL over the frames as they are (time-zone-aware timestamps), or, with ``naive``,
    over views that first turn every timestamp into naive UTC, as an analyst who knows that
    DuckDB subtracts zone-aware timestamps through ICU calendars (~2 us a row) would write it."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("orders", "customers", "followups", "tickets", "surveys", "referrals"):
        if not naive:
            con.register(name, data[name])
            continue
        con.register(f"{name}_zoned", data[name])
        columns = [f'make_timestamp(epoch_us("{c}")) AS "{c}"' if isinstance(t, pd.DatetimeTZDtype) else f'"{c}"'
                   for c, t in data[name].dtypes.items()]
        con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM {name}_zoned")
    eod = end_of_day(as_of)
    literal = f"TIMESTAMP '{eod.tz_localize(None).isoformat()}'" if naive else f"TIMESTAMPTZ '{eod.isoformat()}'"
    query = SQL.format(eod=literal, missing=MISSING, **vars(p))
    out = con.execute(query).df()
    con.close()
    return out


def polars_hand_kpis(data, as_of: str) -> pd.DataFrame:
    """Reference (c): the hand-tuned Polars program of ``reference_polars.py`` (polars is
    imported on the first call, the guard's untimed one, so the benchmark runs without it)."""
    from reference_polars import polars_kpis

    return polars_kpis(data, as_of)


# ---------------------------------------------------------------------------------------------
# Correctness guard
# ---------------------------------------------------------------------------------------------
def gapkit_rows(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[(table["period"] == "all") & table["segment_by"].isin(["all", "segment"])]
    return rows[["kpi", "segment", "n", "value"]].reset_index(drop=True)


def compare(reference: pd.DataFrame, got: pd.DataFrame, ref_name: str, got_name: str) -> list[str]:
    """Differences between two (kpi, segment, n, value) tables; [] when they agree."""
    # a KPI with no units at all (e.g. no cohort old enough at an early as_of) has no row
    ref = {(k, str(s)): (int(n), float(v)) for k, s, n, v in reference.itertuples(index=False) if n > 0}
    new = {(k, str(s)): (int(n), float(v)) for k, s, n, v in got.itertuples(index=False) if n > 0}
    problems = []
    for key in sorted(set(ref) | set(new)):
        if key not in new:
            problems.append(f"{key}: row in {ref_name} {ref[key]} but not in {got_name}")
            continue
        if key not in ref:
            problems.append(f"{key}: row in {got_name} {new[key]} but not in {ref_name}")
            continue
        (n_ref, v_ref), (n_new, v_new) = ref[key], new[key]
        if key[0] in MEDIAN_KPIS:
            # exact; Polars divides by a constant as a multiplication by its reciprocal, so a
            # duration in days or hours there may differ in the last bit (measured: 1 ulp), in
            # gapkit's Polars engine and in the hand Polars reference alike
            ulps = 2 if "polars" in f"{ref_name} {got_name}".lower() else 0
            same_value = abs(v_ref - v_new) <= ulps * math.ulp(v_ref) or (math.isnan(v_ref) and math.isnan(v_new))
        else:
            same_value = math.isclose(v_ref, v_new, rel_tol=1e-9, abs_tol=1e-12) or (
                math.isnan(v_ref) and math.isnan(v_new))
        if n_ref != n_new or not same_value:
            problems.append(f"{key}: {ref_name} n={n_ref} value={v_ref!r}  vs  {got_name} n={n_new} value={v_new!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------
def timed(fn, repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of each run; ``cpu`` gets each run's CPU seconds of the process (user +
    system, every thread), steadier than wall time on a shared machine."""
    times = []
    for _ in range(repeats):
        gc.collect()
        c0, t0 = os.times(), time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        c1 = os.times()
        if cpu is not None:
            cpu.append(c1.user + c1.system - c0.user - c0.system)
        del result
    return times


def peak_mb(fn) -> float:
    """Peak Python-traced memory allocated while ``fn`` runs (untimed: tracemalloc is slow)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    gc.collect()
    return peak / 2**20


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def rss_growth_mb(fn, every: float = 0.005) -> float | None:
    """Peak growth of the process RSS while ``fn`` runs, sampled every 5 ms (Linux only).

    Unlike tracemalloc this sees native memory (Arrow, DuckDB); it is a lower bound, since memory
    freed earlier but kept by the allocator is reused without growing the RSS.
    """
    gc.collect()
    start = _rss_bytes()
    if start is None:
        return None
    peak, done = [start], threading.Event()

    def sample():
        while not done.wait(every):
            peak[0] = max(peak[0], _rss_bytes() or 0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
        peak[0] = max(peak[0], _rss_bytes() or 0)
    finally:
        done.set()
        sampler.join()
    del result
    gc.collect()
    return (peak[0] - start) / 2**20


def max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def machine() -> dict:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _cpu_name(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "duckdb": duckdb.__version__,
        "narwhals": narwhals.__version__,
        "polars": _version("polars"),
        "gapkit": gapkit.__version__,
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# operation -> (reference operation, target ratio)
RATIOS = [
    ("gapkit.load csv", "pandas.read_csv (bare)", 3.0),
    ("gapkit.load parquet", "pandas.read_parquet (bare)", None),
    ("gapkit.kpis pandas", "plain pandas", 1.0),
    ("gapkit.kpis duckdb", "DuckDB SQL", 1.0),
    ("gapkit.kpis duckdb", "DuckDB SQL (naive UTC)", None),
    ("gapkit.kpis pandas", "DuckDB SQL", None),
    ("gapkit.kpis polars", "DuckDB SQL", None),
    ("gapkit.kpis polars", "gapkit.kpis duckdb", None),
    ("gapkit.kpis polars", "Polars (hand)", 1.5),
    ("gapkit.kpis duckdb", "Polars (hand)", None),
    ("Polars (hand)", "DuckDB SQL", None),
]


OPERATIONS = [
    "pandas.read_csv (bare)", "gapkit.load csv", "pandas.read_parquet (bare)", "gapkit.load parquet",
    "plain pandas", "DuckDB SQL", "DuckDB SQL (naive UTC)", "Polars (hand)", "gapkit.kpis pandas",
    "gapkit.kpis duckdb", "gapkit.kpis polars",
]
REFERENCES = ("plain pandas", "DuckDB SQL", "DuckDB SQL (naive UTC)", "Polars (hand)")
ENGINES = ("gapkit.kpis pandas", "gapkit.kpis duckdb", "gapkit.kpis polars")
#: timed after the others: a DuckDB query hands its memory back to the system when it ends, and
#: the next pandas operation in the process pays to fault it in again (measured at 1M orders:
#: gapkit.kpis pandas 2.2 s, 3.6-3.8 s right after a DuckDB call; plain pandas alike), a cost
#: that falls on whichever pandas operation the round puts after a DuckDB one. The Polars
#: operations (whose memory is Polars' own, natively allocated, too) run in that phase, so the
#: hand Polars program and gapkit's Polars engine are timed in the same rounds.
ON_DUCKDB = ("DuckDB SQL", "DuckDB SQL (naive UTC)", "Polars (hand)", "gapkit.kpis duckdb", "gapkit.kpis polars")


def run_size(size: int, repeats: int, as_of: str, regenerate: bool, memory: bool,
             selected: list[str] = OPERATIONS) -> list[dict]:
    csv_dir, parquet_dir = ensure_data(size, regenerate)
    # the same kept rows either way; Parquet loads faster when no CSV operation is timed
    source = csv_dir if any("csv" in name for name in selected) else parquet_dir
    data = gapkit.load(source)
    if len(data.rejects):
        raise SystemExit(f"{source}: {len(data.rejects)} rows rejected; the benchmark needs clean data")
    counts = {name: len(frame) for name, frame in data.items()}
    print(f"# {size:,} orders: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    by = ["segment"]
    operations = {
        "pandas.read_csv (bare)": lambda: bare_read_csv(csv_dir),
        "gapkit.load csv": lambda: gapkit.load(csv_dir),
        "pandas.read_parquet (bare)": lambda: bare_read_parquet(parquet_dir),
        "gapkit.load parquet": lambda: gapkit.load(parquet_dir),
        "plain pandas": lambda: plain_pandas_kpis(data, as_of),
        "DuckDB SQL": lambda: duckdb_sql_kpis(data, as_of),
        "DuckDB SQL (naive UTC)": lambda: duckdb_sql_kpis(data, as_of, naive=True),
        "Polars (hand)": lambda: polars_hand_kpis(data, as_of),
        "gapkit.kpis pandas": lambda: gapkit.kpis(data, as_of, by=by),
        "gapkit.kpis duckdb": lambda: gapkit.kpis(data, as_of, by=by, engine="duckdb"),
        "gapkit.kpis polars": lambda: gapkit.kpis(data, as_of, by=by, engine="polars"),
    }
    operations = {name: fn for name, fn in operations.items() if name in selected}
    references = [name for name in REFERENCES if name in operations]
    engines = [name for name in ENGINES if name in operations]

    # correctness guard (also the warm-up run of every KPI operation; DuckDB's first, see ON_DUCKDB)
    results = {}
    for name in sorted([*references, *engines], key=lambda name: name not in ON_DUCKDB):
        results[name] = gapkit_rows(operations[name]()) if name in engines else operations[name]()
    problems = []
    for ref in references:
        for got in engines:
            problems += compare(results[ref], results[got], ref, got)
    for ref in references[1:]:
        problems += compare(results[references[0]], results[ref], references[0], ref)
    if problems:
        print(f"\nCORRECTNESS GUARD FAILED at {size:,} orders ({len(problems)} differences):", file=sys.stderr)
        print("\n".join("  " + p for p in problems), file=sys.stderr)
        raise SystemExit(1)
    if references and engines:
        checked = results[references[0]][results[references[0]]["n"] > 0]
        print(f"# correctness guard passed: {checked['kpi'].nunique()} KPIs, {len(checked)} rows (overall + by "
              f"segment), {' and '.join(references)} == {' and '.join(engines)}", flush=True)
    del results
    gc.collect()

    # round robin: one run of every operation, then the next round, so that a change in the
    # machine's load while the runs go on weighs on every operation alike, not on the last ones;
    # the rounds of the pandas operations first, then those of the DuckDB and Polars ones (see ON_DUCKDB)
    times = {name: [] for name in operations}
    cpu_times = {name: [] for name in operations}
    load_before = os.getloadavg()[0]
    for phase in ([n for n in operations if n not in ON_DUCKDB], [n for n in operations if n in ON_DUCKDB]):
        for _ in range(repeats):
            for name in phase:
                times[name] += timed(operations[name], 1, cpu_times[name])
    load = (load_before, os.getloadavg()[0])
    rows = []
    for name, fn in operations.items():
        rows.append({
            "operation": name, "size": size, "repeats": repeats,
            "median_s": statistics.median(times[name]), "min_s": min(times[name]), "max_s": max(times[name]),
            "times_s": times[name], "load": load,
            "cpu_median_s": statistics.median(cpu_times[name]), "cpu_s": cpu_times[name],
            "peak_mb": peak_mb(fn) if memory else None,
            "rss_growth_mb": rss_growth_mb(fn) if memory else None,
            "max_rss_so_far_mb": max_rss_mb(),
        })
        r = rows[-1]
        print(f"#   {name:<28} median {r['median_s']:8.3f} s (CPU {r['cpu_median_s']:.3f} s)   "
              f"peak {_mb(r['peak_mb'])} MB traced, "
              f"RSS +{_mb(r['rss_growth_mb'])} MB", flush=True)
    by_name = {r["operation"]: r for r in rows}
    for op, ref, target in RATIOS:
        if op in by_name and ref in by_name:
            ratio = by_name[op]["median_s"] / by_name[ref]["median_s"]
            cpu_ratio = by_name[op]["cpu_median_s"] / by_name[ref]["cpu_median_s"]
            by_name[op].setdefault("ratios", []).append({"reference": ref, "ratio": ratio, "target": target,
                                                         "cpu_ratio": cpu_ratio})
    return rows


def _mb(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def render(rows: list[dict], info: dict, rss: float) -> str:
    header = (
        f"gapkit benchmark, {info['date']}: {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
        f"pandas {info['pandas']}, numpy {info['numpy']}, duckdb {info['duckdb']}, narwhals {info['narwhals']}, "
        f"polars {info.get('polars', '-')}, "
        f"gapkit {info['gapkit']}"
    )
    head = (f"{'operation':<28} {'orders':>10} {'median s':>9} {'min s':>8} {'max s':>8} {'peak MB':>8} {'RSS +MB':>8}"
            f" {'load':>9}  ratio vs reference (target)")
    lines = [header, "", head, "-" * len(head)]
    last_size = None
    for r in rows:
        if last_size is not None and r["size"] != last_size:
            lines.append("")
        last_size = r["size"]
        ratios = []
        for found in r.get("ratios", []):
            target = found["target"]
            verdict = "" if target is None else (f" (<= {target:g}: ok)" if found["ratio"] <= target
                                                 else f" (<= {target:g}: MISSED)")
            cpu = f" (CPU {found['cpu_ratio']:.2f}x)" if "cpu_ratio" in found else ""
            ratios.append(f"{found['ratio']:.2f}x {found['reference']}{verdict}{cpu}")
        load = "-" if "load" not in r else f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"
        lines.append(f"{r['operation']:<28} {r['size']:>10,} {r['median_s']:>9.3f} {r['min_s']:>8.3f} {r['max_s']:>8.3f} "
                     f"{_mb(r['peak_mb']):>8} {_mb(r['rss_growth_mb']):>8} {load:>9}  {'; '.join(ratios)}".rstrip())
    lines += ["", f"process max RSS at the end: {rss:,.0f} MB",
              "peak MB: Python/NumPy allocations traced by tracemalloc in a separate untimed run "
              "(Arrow and DuckDB native memory not seen)",
              "RSS +MB: peak growth of the process RSS in another untimed run, sampled every 5 ms "
              "(sees native memory; a lower bound, as memory freed earlier is reused)",
              "load: 1-minute load average before and after one size's timed runs, which go round robin "
              "(one run of each operation per round, the pandas operations' rounds before the DuckDB and Polars ones'; "
              "2 cores: above 2 means waiting)",
              "scan rows: each run in a fresh process (scan + kpis, no import); RSS +MB there is the "
              "child's peak RSS (VmHWM), imports included"]
    return "\n".join(lines)


def scan_kpis_child(folder: str, as_of: str, period: str | None) -> None:
    """One timed ``gapkit.kpis(gapkit.scan(folder), ...)`` in this process; prints JSON."""
    t0 = time.perf_counter()
    table = gapkit.kpis(gapkit.scan(folder), as_of, by=["segment"], period=period, engine="duckdb")
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "max_rss_mb": peak_rss_since_exec_mb(), "rows": len(table),
                      "kpis": int(table["kpi"].nunique())}))


def peak_rss_since_exec_mb() -> float:
    """Peak RSS of this process image (VmHWM), which exec resets.

    Not ``ru_maxrss``: Linux keeps it across exec, so a child started by a parent holding
    gigabytes of frames reports the parent's RSS at the fork (the first 10M run did: 6,584 MB).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return max_rss_mb()


def run_scan(size: int, repeats: int, as_of: str, period: str | None, regenerate: bool) -> dict:
    """``gapkit.kpis(gapkit.scan(parquet), ..., engine="duckdb")``, each run in a fresh process.

    A fresh process per run, so its peak RSS (VmHWM, DuckDB's native memory included, which
    tracemalloc misses) is that run's alone; the time is taken inside the child, after its
    imports.
    """
    folder = ensure_parquet_only(size, regenerate)
    command = [sys.executable, __file__, "--scan-child", str(folder), "--as-of", as_of,
               "--scan-period", period or "none"]
    runs, loads = [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        loads.append(os.getloadavg()[0])
        print(f"#   scan kpis {size:,}: {runs[-1]['seconds']:.1f} s, peak RSS {runs[-1]['max_rss_mb']:,.0f} MB, "
              f"{runs[-1]['rows']} rows, load {loads[-2]:.1f}-{loads[-1]:.1f}", flush=True)
    times = [r["seconds"] for r in runs]
    return {"operation": f"scan+kpis duckdb period={period or 'None'}", "size": size, "repeats": repeats,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "times_s": times,
            "peak_mb": None, "rss_growth_mb": max(r["max_rss_mb"] for r in runs),
            "child_max_rss_mb": [r["max_rss_mb"] for r in runs], "load": (min(loads), max(loads)),
            "rows": runs[-1]["rows"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="numbers of orders")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per operation (median reported)")
    ap.add_argument("--as-of", default="2025-06-30", help="report date")
    ap.add_argument("--quick", action="store_true", help="20,000 orders, 2 repeats (well under a minute)")
    ap.add_argument("--json", metavar="FILE", help="also save the results as JSON")
    ap.add_argument("--no-memory", action="store_true", help="skip the untimed memory runs")
    ap.add_argument("--regenerate", action="store_true", help="regenerate the cached data")
    ap.add_argument("--operations", nargs="+", choices=OPERATIONS, default=OPERATIONS, metavar="NAME",
                    help=f"time only these operations (default all: {', '.join(OPERATIONS)})")
    ap.add_argument("--scan-sizes", type=int, nargs="*", default=[],
                    help="also time gapkit.kpis(gapkit.scan(parquet), engine='duckdb') at these sizes "
                         "(Parquet only, generated in chunks past 5M orders)")
    ap.add_argument("--scan-repeats", type=int, default=2, help="fresh-process runs per scan size")
    ap.add_argument("--scan-period", choices=["M", "none"], default="M", help="period of the scan runs")
    ap.add_argument("--scan-child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scan_child:
        scan_kpis_child(args.scan_child, args.as_of, None if args.scan_period == "none" else args.scan_period)
        return 0
    if args.quick:
        args.sizes, args.repeats = [20_000], 2

    info = machine()
    print(f"# {info['cores']} cores, Python {info['python']}, pandas {info['pandas']}, duckdb {info['duckdb']}, "
          f"narwhals {info['narwhals']}; sizes {args.sizes}, {args.repeats} repeats, as_of {args.as_of}", flush=True)
    rows = []
    for size in args.sizes:
        rows += run_size(size, args.repeats, args.as_of, args.regenerate, memory=not args.no_memory,
                         selected=args.operations)
    for size in args.scan_sizes:
        rows.append(run_scan(size, args.scan_repeats, args.as_of,
                             None if args.scan_period == "none" else args.scan_period, args.regenerate))
    rss = max_rss_mb()
    print()
    print(render(rows, info, rss))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "as_of": args.as_of, "max_rss_mb": rss,
                                               "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
