"""Column mappings (issue 31): a source whose columns are named otherwise is read under the contract's
names, from gapkit.yml's ``columns`` key through gapkit.load, the report date, the run's checked tables
and the command line; a mapping the data does not match is an error naming both names and the file."""

import json
from pathlib import Path

import pandas as pd
import pytest

import gapkit
from gapkit import cli
from gapkit.config import from_dict, read
from gapkit.contract._reading import read_text_csv
from gapkit.contract.loading import last_complete_day, load, scan, write_parquet
from gapkit.errors import ConfigError, InputError
from gapkit.pipeline import steps

ROOT = Path(__file__).resolve().parents[1]
#: the sample's columns under other names, as a shop and a help desk might export them
MAPPING = {"orders": {"order_id": "Order Number", "customer_id": "client", "ordered_at": "created",
                      "order_value": "Total"},
           "tickets": {"ticket_id": "number", "created_at": "opened"},
           "surveys": {"csat": "score"}}
CONFIG = """columns:
  orders: {order_id: Order Number, customer_id: client, ordered_at: created, order_value: Total}
  tickets: {ticket_id: number, created_at: opened}
  surveys: {csat: score}
"""


def renamed_copy(sample: Path, target: Path, mapping=MAPPING, parquet: bool = False) -> Path:
    """The sample with its headers renamed by ``mapping`` (contract -> source): only the header line
    changes, so every record and file line stays where it was; Parquet copies hold the text as read."""
    target.mkdir(parents=True, exist_ok=True)
    for file in sorted(sample.glob("*.csv")):
        renames = mapping.get(file.stem, {})
        if parquet:
            frame = read_text_csv(file).frame.rename(columns=renames)
            frame.to_parquet(target / f"{file.stem}.parquet", index=False)
            continue
        header, rest = file.read_text(encoding="utf-8").split("\n", 1)
        names = [renames.get(name, name) for name in header.split(",")]
        (target / file.name).write_text(",".join(names) + "\n" + rest, encoding="utf-8")
    return target


# --- the configuration --------------------------------------------------------------------------------------


def test_the_mapping_is_read_checked_and_recorded(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text(CONFIG + "  referrals: {referral_id: referral_id, customer_id: 007}\n", encoding="utf-8")
    settings = read(path)
    assert settings.columns[:2] == (("orders", "order_id", "Order Number"), ("orders", "customer_id", "client"))
    # a column mapped to its own name is nothing to rename; a name is kept as written (007, not 7)
    assert ("referrals", "customer_id", "007") in settings.columns
    assert not any(column == "referral_id" for _, column, _ in settings.columns)
    recorded = settings.to_dict()["columns"]
    assert recorded["orders"] == MAPPING["orders"] and recorded["referrals"] == {"customer_id": "007"}
    # run.json and the settings the notebooks read hold it, and read back to the same mapping
    again = tmp_path / "settings.json"
    again.write_text(json.dumps(settings.to_dict()), encoding="utf-8")
    assert read(again).columns == settings.columns
    assert from_dict({}).columns == () and from_dict({}).to_dict()["columns"] == {}


def test_the_settings_the_runner_hands_the_notebooks_carry_the_mapping(tmp_path):
    settings = from_dict({"columns": MAPPING}).replace(as_of="2025-06-30", out=str(tmp_path / "out"))
    written = steps.write_settings(settings, tmp_path)
    assert read(written).columns == settings.columns


@pytest.mark.parametrize("columns, words", [
    ([{"orders": {"order_id": "id"}}], "columns: expected a mapping from table to {contract column: your column}"),
    ({"order": {"order_id": "id"}}, r"unknown table\(s\) \['order'\] \(did you mean 'orders'\?\)"),
    ({"orders": "id"}, r"columns.orders: expected \{contract column: your column\} pairs"),
    ({"orders": {"orderid": "id"}}, r"'orderid' is not a column of the contract's orders table \(did you mean "
                                    r"'order_id'\?\)"),
    ({"orders": {"id": "order_id"}}, r"it looks reversed: the contract's name comes first \(order_id: id\)"),
    ({"customers": {"region": "Region"}}, "columns outside the contract keep their own names"),
    ({"orders": {"order_id": None}}, r"columns.orders.order_id: give your file's name for the column as text"),
    ({"orders": {"order_id": ""}}, "columns.orders.order_id: the name of your file's column is empty"),
    ({"orders": {"order_id": "  "}}, "the name of your file's column is empty"),
    ({"orders": {"order_id": ["id"]}}, "give your file's name for the column as text"),
    ({"orders": {"order_id": True}}, "give your file's name for the column as text"),
    ({"orders": {"order_id": "id", "customer_id": "id"}}, "order_id and customer_id both map to 'id'; one column"),
])
def test_a_bad_mapping_is_refused_naming_the_key_and_the_fix(columns, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"columns": columns}, source="gapkit.yml")
    with pytest.raises(ConfigError, match=words):  # the same checks for gapkit.load's argument
        load(ROOT / "data" / "sample", columns=columns)


def test_a_bad_mapping_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text("columns:\n  tickets: {ticket_id: number, created: opened}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path}: columns.tickets: 'created' is not a column .*'created_at'"):
        read(path)


# --- loading ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_a_renamed_copy_loads_as_the_original(sample_dir, tmp_path, parquet):
    original = sample_dir if not parquet else renamed_copy(sample_dir, tmp_path / "original", {}, parquet=True)
    renamed = renamed_copy(sample_dir, tmp_path / "renamed", parquet=parquet)
    expected, got = load(original), load(renamed, columns=MAPPING)
    assert list(got) == list(expected)
    for table in expected:
        pd.testing.assert_frame_equal(got[table], expected[table])
    pd.testing.assert_frame_equal(got.counts, expected.counts)
    # rejects: the same rows, rules, values and contract column; the reason adds the file's name
    pd.testing.assert_frame_equal(got.rejects.drop(columns="reason"), expected.rejects.drop(columns="reason"))
    suffix = {(table, column): f" (column {source!r} in the file)" for table, pairs in MAPPING.items()
              for column, source in pairs.items()}
    for want, row in zip(expected.rejects.itertuples(), got.rejects.itertuples()):
        assert row.reason == want.reason + suffix.get((row.table, row.column), "")
    assert "duplicate order_id (first seen in row 1); the first is kept (column 'Order Number' in the file)" in set(
        got.rejects["reason"])
    said = [n for n in got.notes if "the columns mapping" in n]
    assert said[0].startswith(f"orders.{'parquet' if parquet else 'csv'}: read 'Order Number' as order_id, "
                              f"'client' as customer_id")
    assert len(said) == 3  # orders, tickets, surveys


def test_a_swap_of_two_names_is_a_rename_not_a_clash(sample_dir, tmp_path):
    swap = {"orders": {"channel": "status", "status": "channel"}}
    renamed = renamed_copy(sample_dir, tmp_path / "swapped", swap)
    pd.testing.assert_frame_equal(load(renamed, columns=swap)["orders"], load(sample_dir)["orders"])


def test_a_mapped_column_the_file_lacks_names_both_names_and_the_file(sample_dir, tmp_path):
    renamed = renamed_copy(sample_dir, tmp_path / "renamed")
    with pytest.raises(ConfigError) as error:
        load(renamed, columns={**MAPPING, "orders": {**MAPPING["orders"], "order_id": "order number"}})
    message = str(error.value)
    assert message.startswith(f"{renamed / 'orders.csv'}: columns maps order_id to 'order number', but the file has "
                              f"no column 'order number' (it has: Order Number, client, created, Total, channel")
    assert "did you mean 'Order Number'?" in message and "columns.orders" in message
    # the file still under the contract's name: the fix is to drop the mapping
    with pytest.raises(ConfigError, match="the file already has order_id: remove order_id from columns.orders"):
        load(sample_dir, columns={"orders": {"order_id": "id"}})
    # a mapped table that is not there is no error: every table but orders is optional
    assert "tickets" not in load(renamed, tables=["orders"], columns=MAPPING)


def test_a_file_with_both_names_is_ambiguous(sample_dir, tmp_path):
    both = renamed_copy(sample_dir, tmp_path / "both", {})
    orders = pd.read_csv(both / "orders.csv", dtype=str)
    orders.assign(created=orders["ordered_at"]).to_csv(both / "orders.csv", index=False)
    with pytest.raises(ConfigError, match=r"orders.csv: columns maps ordered_at to 'created', but the file also has a "
                                          r"column 'ordered_at', so it is not clear which is the ordered_at\. Remove "
                                          r"ordered_at from columns.orders"):
        load(both, columns={"orders": {"ordered_at": "created"}})


def test_without_the_mapping_the_missing_columns_are_named(sample_dir, tmp_path):
    with pytest.raises(InputError, match=r"column\(s\) \['order_id', 'customer_id', 'ordered_at'\] missing"):
        load(renamed_copy(sample_dir, tmp_path / "renamed"))


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_the_report_date_is_read_from_the_mapped_ordered_at(sample_dir, tmp_path, parquet):
    renamed = renamed_copy(sample_dir, tmp_path / "renamed", parquet=parquet)
    assert last_complete_day(renamed, columns=MAPPING) == last_complete_day(sample_dir)
    with pytest.raises(InputError, match="no ordered_at column.*columns: {orders: {ordered_at: your_name}}"):
        last_complete_day(renamed)
    with pytest.raises(ConfigError, match="columns maps ordered_at to 'Created'.*did you mean 'created'"):
        last_complete_day(renamed, columns={"orders": {"ordered_at": "Created"}})


def test_scan_reads_parquet_under_the_contracts_names(tmp_path):
    data = gapkit.datasets.sample(n_orders=300)
    write_parquet(data, tmp_path / "plain")
    for file in (tmp_path / "plain").glob("*.parquet"):
        renamed = tmp_path / "renamed" / file.name
        renamed.parent.mkdir(exist_ok=True)
        pd.read_parquet(file).rename(columns=MAPPING.get(file.stem, {})).to_parquet(renamed, index=False)
    tables = scan(tmp_path / "renamed", columns=MAPPING)
    assert tables["orders"].columns == list(data["orders"].columns)
    expected = gapkit.kpis(scan(tmp_path / "plain"), as_of="2025-06-30", engine="duckdb")
    got = gapkit.kpis(tables, as_of="2025-06-30", engine="duckdb")
    pd.testing.assert_frame_equal(got, expected)
    with pytest.raises(ConfigError, match="orders.parquet: columns maps order_id to 'nope'"):
        scan(tmp_path / "renamed", columns={"orders": {"order_id": "nope"}})


# --- a run: the checked tables, their cache, the checks before the notebooks, the command line ----------------


def test_the_run_reads_and_caches_the_input_under_its_mapping(sample_dir, tmp_path, monkeypatch):
    renamed = renamed_copy(sample_dir, tmp_path / "renamed")
    folder = tmp_path / "run"
    prepared = steps.prepare(renamed, folder, columns=MAPPING)
    assert prepared["orders"]["order_id"].iloc[0] == load(sample_dir)["orders"]["order_id"].iloc[0]
    manifest = json.loads((folder / steps.VALIDATED / steps.MANIFEST).read_text())
    assert manifest["columns"] == MAPPING
    rejects = pd.read_csv(folder / "rejects.csv")
    assert (rejects["reason"].str.endswith("(column 'Order Number' in the file)") == (
        (rejects["table"] == "orders") & (rejects["column"] == "order_id"))).all()
    calls = []
    real = steps.prepare
    monkeypatch.setattr(steps, "prepare", lambda *a, **k: calls.append(k.get("columns")) or real(*a, **k))
    # the same mapping (as the notebooks hold it: checked, from the settings) reads the cached tables
    cached = steps.dataset(renamed, folder, columns=from_dict({"columns": MAPPING}).columns)
    assert calls == [] and len(cached["orders"]) == len(prepared["orders"])
    # another mapping means other columns under the contract's names: read and checked again
    changed = {**MAPPING, "surveys": {}}
    again = steps.dataset(renamed, folder, columns=changed)
    assert calls == [changed] and "score" in again["surveys"].columns and "csat" not in again["surveys"].columns
    with pytest.raises(InputError, match="missing"):  # no mapping at all: the file's own names are not the contract's
        steps.dataset(renamed, folder)


def test_the_checks_before_a_run_see_the_mapped_names(sample_dir, tmp_path):
    from gapkit.pipeline.runner import _checked_before_running

    renamed = renamed_copy(sample_dir, tmp_path / "renamed", {**MAPPING, "orders": {**MAPPING["orders"],
                                                                                    "channel": "source"}})
    settings = from_dict({"columns": {**MAPPING, "orders": {**MAPPING["orders"], "channel": "source"}},
                          "segments": ["channel"], "data": str(renamed)})
    checked, said = _checked_before_running(settings, progress=lambda line: None)
    assert checked.as_of == last_complete_day(sample_dir)[0] and said.startswith("not given")
    with pytest.raises(ConfigError, match=r"segments: 'source'"):  # the file's name is gone once mapped
        _checked_before_running(settings.replace(segments=("source",)), progress=lambda line: None)
    with pytest.raises(ConfigError, match="orders.csv: columns maps ordered_at to 'opened'"):
        _checked_before_running(from_dict({"columns": {"orders": {"ordered_at": "opened"}}, "data": str(renamed)}),
                                progress=lambda line: None)


def test_gapkit_kpis_reads_the_mapping_from_the_config(sample_dir, tmp_path, capsys):
    renamed = renamed_copy(sample_dir, tmp_path / "renamed")
    config = tmp_path / "gapkit.yml"
    config.write_text(CONFIG, encoding="utf-8")
    assert cli.main(["kpis", "--data", str(renamed), "--as-of", "2025-06-30", "--config", str(config)]) == 0
    assert "first_response_hours" in capsys.readouterr().out
    assert cli.main(["kpis", "--data", str(renamed), "--as-of", "2025-06-30"]) == 2
    assert "missing" in capsys.readouterr().err


def test_notebooks_copied_for_jupyterlab_take_the_report_date_under_the_mapping(sample_dir, tmp_path):
    import nbformat

    from gapkit.pipeline.lab import copy_notebooks

    renamed = renamed_copy(sample_dir, tmp_path / "renamed")
    config = tmp_path / "gapkit.yml"
    config.write_text(CONFIG, encoding="utf-8")
    written = copy_notebooks(tmp_path / "analysis", renamed, config=config)
    cells = nbformat.read(written[0], as_version=4).cells
    parameters = next(c.source for c in cells if "parameters" in c.metadata.get("tags", []))
    assert f'as_of: str = "{last_complete_day(sample_dir)[0]}"' in parameters


@pytest.mark.slow  # the notebook suite, end to end
def test_gapkit_run_on_a_renamed_export_with_a_columns_key(sample_dir, tmp_path):
    import subprocess
    import sys

    renamed = renamed_copy(sample_dir, tmp_path / "renamed")
    config = tmp_path / "gapkit.yml"
    config.write_text(CONFIG + f"data: {renamed}\nseed: 2025\n", encoding="utf-8")
    out = tmp_path / "reports" / "mapped"
    done = subprocess.run([sys.executable, "-m", "gapkit.cli", "run", "--config", str(config), "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["columns"] == MAPPING and run["parameters"]["as_of"] == last_complete_day(sample_dir)[0]
    counts = pd.DataFrame(run["row_counts"]).set_index("table")
    assert counts.loc["orders", "kept"] == len(load(sample_dir)["orders"])
    rejects = pd.read_csv(out / "rejects.csv")
    assert "duplicate order_id (first seen in row 1); the first is kept (column 'Order Number' in the file)" in set(
        rejects["reason"])
    assert "Order Number" in (out / "01_current_state.html").read_text()  # report 1's note on the renames


# --- the examples -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["columns-shopify.yml", "columns-zendesk.yml"])
def test_the_example_mappings_are_valid_configurations(name):
    settings = read(ROOT / "examples" / name)
    assert settings.columns and {table for table, _, _ in settings.columns} <= set(gapkit.contract.schema.TABLES)
