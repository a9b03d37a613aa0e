"""``gapkit run`` from a real PostgreSQL server (tests/_postgres.py) gives the report a run from the
sample folder gives (issue 31, "done when"), and no file it writes, nor anything it prints, holds
the password.

The sample's CSV files are stored with SQL types (timestamptz, double precision, bigint, boolean,
text; orders.ordered_at stays text, as it holds "not-a-date"). One run from the folder and one
from the URL with the password in it are compared; a third, with the password in PGPASSWORD only,
is compared too and searched for it. Each run is made once and shared by the tests of the module.

Compared byte for byte: every CSV artifact (kpis, goals, gaps, current, goal_progress, milestones,
drivers, action_plan, alerts, retention, churn, impact, cost_benefit, row_counts), save rejects.csv.
rejects.csv: table, row, column, reason and rule byte for byte, in the same order; two columns
depend on the source by design and are compared otherwise:
- ``line``: the line of a CSV file; a database has none, so it is empty there;
- ``value``: the value as the source holds it; a typed database column holds -25 (a number) where
  the CSV holds "-25.0", and the instant 2024-02-10 09:00 UTC as "2024-02-10 09:00:00+00:00" where
  the CSV writes "2024-02-10T09:00:00Z"; compared by what it means (the number, the instant).
run.json: row_counts, as_of, the configuration and status equal; left out are where the data is
(``parameters.data``, ``config.data``: the URL, not the folder), where the report went (``out``,
``history``: each run has its own folder) and the timings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from _postgres import SAMPLE, sample_tables, write_postgres

from gapkit import config as configuration
from gapkit.contract.artifacts import VALIDATED
from gapkit.pipeline import steps

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2025-06-30"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without libpq's own password sources (a ~/.pgpass of the
    machine must not make a wrong password pass), plus ``extra``."""
    kept = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE")}
    return {**kept, "PGPASSFILE": str(Path(os.devnull)), **extra}


def gapkit_run(data: str, out: Path, env: dict | None = None, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gapkit.cli", "run", "--config", "gapkit.yml", "--data", data,
                           "--as-of", AS_OF, "--out", str(out), *more], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env=env or environment())


@pytest.fixture(scope="module")
def stored(postgres):
    """The sample in schema ``sales``; its URL without the password."""
    write_postgres(postgres, "sales", sample_tables())
    return postgres.url(password=False, schema="sales")


@pytest.fixture(scope="module")
def runs(postgres, stored, tmp_path_factory):
    """One run from each source: the folder, the URL with the password, the URL and PGPASSWORD."""
    made = {}
    for name, data, env in (("folder", str(SAMPLE), None), ("url", postgres.url(schema="sales"), None),
                            ("pgpassword", stored, environment(PGPASSWORD=postgres.password))):
        out = tmp_path_factory.mktemp(name) / AS_OF
        done = gapkit_run(data, out, env)
        assert done.returncode == 0, done.stdout + done.stderr
        made[name] = (out, done.stdout + done.stderr)
    return made


def secrets_in(path: Path, password: str) -> bool:
    """Whether ``path`` holds the password or its URL spelling: Parquet files are read (their
    pages are compressed), every other file searched as bytes."""
    spellings = {password, quote(password, safe="")}
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        text = table.to_pandas().to_csv() + repr(table.schema.metadata) + repr(table.schema)
    else:
        text = path.read_bytes().decode("utf-8", errors="replace")
    return any(s in text for s in spellings)


def meaning(value):
    """A rejected value as what it means: the number, the instant (UTC), else the text."""
    if pd.isna(value):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        return value
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["url", "pgpassword"])
def test_every_csv_artifact_is_the_folders_byte_for_byte(runs, source):
    folder, database = runs["folder"][0], runs[source][0]
    names = sorted(p.name for p in folder.glob("*.csv"))
    assert names == sorted(p.name for p in database.glob("*.csv"))
    assert {"kpis.csv", "goals.csv", "gaps.csv", "rejects.csv", "impact.csv", "cost_benefit.csv"} <= set(names)
    different = [n for n in names if n != "rejects.csv" and (folder / n).read_bytes() != (database / n).read_bytes()]
    assert different == []


@pytest.mark.slow
@pytest.mark.parametrize("source", ["url", "pgpassword"])
def test_rejects_are_the_folders_but_for_the_file_line_and_the_values_spelling(runs, source):
    folder = pd.read_csv(runs["folder"][0] / "rejects.csv", dtype=str, keep_default_na=False)
    database = pd.read_csv(runs[source][0] / "rejects.csv", dtype=str, keep_default_na=False)
    assert len(folder) == 8
    same = ["table", "row", "column", "reason", "rule"]
    pd.testing.assert_frame_equal(database[same], folder[same])
    assert (database["line"] == "").all() and (folder["line"] != "").all()
    assert [meaning(v) for v in database["value"]] == [meaning(v) for v in folder["value"]]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["url", "pgpassword"])
def test_run_json_counts_the_same_rows_and_records_the_url_without_its_password(runs, postgres, source):
    folder = json.loads((runs["folder"][0] / "run.json").read_text())
    database = json.loads((runs[source][0] / "run.json").read_text())
    assert database["row_counts"] == folder["row_counts"]
    assert database["status"] == folder["status"] == "success"
    assert database["parameters"]["as_of"] == folder["parameters"]["as_of"] == AS_OF
    where = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}?schema=sales"
    assert database["parameters"]["data"] == database["config"]["data"] == where
    excluded = {"data", "out"}  # where the data is and where the report went
    assert ({k: v for k, v in database["config"].items() if k not in excluded}
            == {k: v for k, v in folder["config"].items() if k not in excluded})


@pytest.mark.slow
@pytest.mark.parametrize("source", ["url", "pgpassword"])
def test_no_file_of_the_report_and_no_line_printed_holds_the_password(runs, postgres, source):
    out, printed = runs[source]
    files = [p for p in out.parent.rglob("*") if p.is_file()]  # the report, its history, any leftover
    assert len(files) > 20
    assert [p for p in files if secrets_in(p, postgres.password)] == []
    assert postgres.password not in printed and quote(postgres.password, safe="") not in printed
    if source == "url":
        assert "the URL holds a password" in (out / "01_current_state.html").read_text()


def test_the_checked_tables_and_settings_a_run_hands_its_notebooks_hold_no_password(postgres, stored, tmp_path):
    url = postgres.url(schema="sales")
    settings = configuration.read(ROOT / "gapkit.yml", data=url, as_of=AS_OF, out=str(tmp_path / "out"))
    data = steps.prepare(url, tmp_path, settings.earliest, AS_OF, settings.columns, ["segment", "persona"])
    steps.write_settings(settings, tmp_path)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"manifest.json", "settings.json", "orders.parquet", "_rejects.parquet"} <= {p.name for p in files}
    assert [p for p in files if secrets_in(p, postgres.password)] == []
    manifest = json.loads((tmp_path / VALIDATED / steps.MANIFEST).read_text())
    assert manifest["source"] == stored and manifest["as_of"] == AS_OF
    # a notebook given the URL without the password finds these tables: no connection is made
    # (a wrong password would fail it)
    wrong = url.replace(quote(postgres.password, safe=""), "wrong")
    again = steps.dataset(wrong, tmp_path, settings.earliest, settings.columns, as_of=AS_OF,
                          extra=["persona", "segment"])
    pd.testing.assert_frame_equal(again["orders"], data["orders"])


def test_a_wrong_password_fails_before_any_notebook_naming_the_url_without_it(postgres, stored, tmp_path):
    wrong = postgres.url(password=False, schema="sales").replace("@", ":not-the-password@", 1)
    done = gapkit_run(wrong, tmp_path / "out")
    assert done.returncode == 1
    where = re.escape(f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}?schema=sales")
    assert re.search(rf"gapkit run failed: {where}: cannot connect \(.*password authentication failed", done.stderr)
    assert "not-the-password" not in done.stdout + done.stderr and "01_current_state" not in done.stdout
    assert not (tmp_path / "out").exists()
    bare = gapkit_run(stored, tmp_path / "out")  # no password anywhere: libpq's advice
    assert bare.returncode == 1 and "no password supplied" in bare.stderr and "PGPASSWORD" in bare.stderr


def test_a_schema_without_orders_names_the_table_and_what_it_holds(postgres, stored, tmp_path):
    write_postgres(postgres, "partial", {"customers": sample_tables()["customers"]})
    done = gapkit_run(postgres.url(schema="partial"), tmp_path / "out")
    assert done.returncode == 1
    assert re.search(r"gapkit run failed: postgresql://gapkit@[^ ]+\?schema=partial: no orders table; gapkit needs "
                     r"orders with order_id, customer_id, ordered_at .*Tables in schema 'partial': customers",
                     done.stderr), done.stderr
    assert postgres.password not in done.stderr and quote(postgres.password, safe="") not in done.stderr
