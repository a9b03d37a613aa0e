"""The command line: exit codes, messages that name the fix, and the printed KPI table."""

import pandas as pd

from gapkit import cli


def test_kpis_prints_counts_and_the_overall_table_and_writes_csv(sample_dir, tmp_path, capsys):
    out = tmp_path / "k.csv"
    code = cli.main(["kpis", "--data", str(sample_dir), "--as-of", "2025-06-30", "--by", "segment", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "Input rows per table" in printed and "csat" in printed
    table = pd.read_csv(out)
    assert set(table["segment_by"]) == {"all", "segment"} and table["n"].gt(0).all()


def test_a_bad_date_or_folder_exits_2_with_a_message(tmp_path, capsys):
    assert cli.main(["kpis", "--data", str(tmp_path), "--as-of", "2025-06-30"]) == 2
    assert "orders" in capsys.readouterr().err
    assert cli.main(["kpis", "--data", str(tmp_path), "--as-of", "30/06/2025"]) == 2


def test_run_refuses_a_config_with_an_unknown_key(tmp_path, sample_dir, capsys):
    config = tmp_path / "gapkit.yml"
    config.write_text("data: x\nmonitr: {}\n")
    code = cli.main(["run", "--config", str(config), "--data", str(sample_dir), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code != 0 and "monitr" in err and "monitor" in err  # the did-you-mean names the fix
    assert not (tmp_path / "r").exists()
