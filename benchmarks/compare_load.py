"""Prove that a change to the loader changes nothing: kept tables, rejects, counts and notes
of ``gapkit.load`` on a corpus of folders, from two versions of the code, compared exactly.

    # the corpus (once): the sample, generated data with bad rows, the shapes of tests/shapes.py,
    # every folder of the hostile tests, random folders of odd values, and the benchmark folders
    .venv/bin/python benchmarks/compare_load.py build /tmp/load_corpus
    # each version of the code loads every folder (PYTHONPATH picks the version)
    PYTHONPATH=/tmp/wt_before .venv/bin/python benchmarks/compare_load.py dump /tmp/load_corpus /tmp/before.pkl
    .venv/bin/python benchmarks/compare_load.py dump /tmp/load_corpus /tmp/after.pkl
    .venv/bin/python benchmarks/compare_load.py compare /tmp/before.pkl /tmp/after.pkl

A folder that fails to load is compared by its error's type and message. Tables are compared
with ``pandas.testing.assert_frame_equal(check_exact=True)`` (values and dtypes).
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

ODD = {  # values a hostile export holds, by kind
    "timestamp": ["2025-01-01", "2025-01-01T10:00:00Z", "2025-01-01 10:00:00+02:00", "2025-01-01T10:00:00.123456789Z",
                  "2025-01-01T10:00", "2025-01-01T24:00:00Z", "2025-02-30", "9999-12-31", "0001-01-01", "1900-01-01",
                  "NA", "null", "", " ", "2025-01-01T10:00:00+0530", "01/02/2025", "2025-1-1", " 2025-01-01",
                  "2025-06-30T23:59:60Z", "2024-02-29T12:00:00-08:00", "nan", "2025-01-01T10:00:00.5", "20250101",
                  "2025-01-01T10Z", "2031-01-01T00:00:00Z", "2026-03-01T00:00:00Z"],
    "number": ["5", "5.0", "-0", "0", "-1", "1e3", "1e400", "inf", "-inf", "nan", "NaN", "NA", "", " ", " 5", "5 ",
               "1,5", "true", "abc", "0x10", "+3", ".5", "5.", "1_000", "12.345678901234567", "-0.0", "3"],
    "flag": ["true", "false", "True", "FALSE", "1", "0", "yes", "No", "y", "T", "1.0", "0.0", "maybe", "", "NA",
             " true", "TRUE ", "2"],
    "id": ["o1", "o2", "o1 ", " o2", "O1", "o\u200b3", "o4", "", " ", "\t", "NA", "null", "o\x07", "cafe\u0301",
           "caf\u00e9", "o5", "o6", "o7", "o8"],
    "text": ["north", "North", "north ", "", "NA", "a,b", "line\x07", "caf\u00e9", "cafe\u0301", "x"],
}
COLUMNS = {  # kinds of each table's columns, as the contract declares them
    "customers": {"customer_id": "id", "segment": "text"},
    "orders": {"order_id": "id", "customer_id": "id", "ordered_at": "timestamp", "order_value": "number",
               "channel": "text", "promised_at": "timestamp", "delivered_at": "timestamp", "status": "text"},
    "followups": {"followup_id": "id", "order_id": "id", "customer_id": "id", "sent_at": "timestamp",
                  "personalized": "flag"},
    "tickets": {"ticket_id": "id", "customer_id": "id", "created_at": "timestamp", "order_id": "id",
                "first_response_at": "timestamp", "resolved_at": "timestamp", "contacts": "number",
                "reopened": "flag"},
    "surveys": {"response_id": "id", "customer_id": "id", "sent_at": "timestamp", "order_id": "id",
                "answered_at": "timestamp", "csat": "number", "nps": "number", "comment": "text"},
    "interventions": {"intervention_id": "id", "name": "text", "start_at": "timestamp", "end_at": "timestamp"},
    "costs": {"intervention_id": "id", "incurred_at": "timestamp", "amount": "number", "kind": "text"},
}


def _odd_folder(folder: Path, seed: int, rows: int, odd_share: float) -> None:
    """Each value good (from generated data) or, with probability ``odd_share``, an odd one."""
    import gapkit.sample

    rng = np.random.default_rng(seed)
    tables = gapkit.sample.generate(n_orders=rows, seed=seed, bad_rows=False)
    folder.mkdir(parents=True)
    for name, kinds in COLUMNS.items():
        frame = tables[name][[c for c in kinds if c in tables[name].columns]].copy()
        frame = frame.astype("object").where(frame.notna(), "")
        for column, kind in kinds.items():
            if column not in frame.columns:
                continue
            odd = rng.random(len(frame)) < odd_share
            pool = ODD[kind] + (list(frame[column].iloc[:5].astype(str)) if kind == "id" else [])
            frame.loc[odd, column] = rng.choice(np.array(pool, dtype=object), odd.sum())
        if len(frame) > 1000:  # a row repeated far from its first copy
            frame.iloc[len(frame) // 3] = frame.iloc[len(frame) // 2].to_numpy()
        frame.astype(str).to_csv(folder / f"{name}.csv", index=False)


H = "order_id,customer_id,ordered_at,order_value\n"
READING = {  # line shapes that decide how a file is read (blank lines, quoted line breaks, line ends)
    "delimiters_only": {"orders.csv": H + "o1,c1,2025-01-01,5\n,,,\no2,c2,2025-01-02,6\n"},
    "blank_line": {"orders.csv": H + "o1,c1,2025-01-01,5\n\no2,c2,2025-01-02,6\n"},
    "blank_after_header": {"orders.csv": H + "\no1,c1,2025-01-01,5\n"},
    "blank_lines_at_end": {"orders.csv": H + "o1,c1,2025-01-01,5\n\n\n"},
    "quoted_line_break": {"orders.csv": H + 'o1,"c\n1",2025-01-01,5\no2,c2,2025-01-02,6\n'},
    "quoted_no_break": {"orders.csv": H + 'o1,"c,1",2025-01-01,5\no2,"",2025-01-02,6\n'},
    "quoted_blank_inside": {"orders.csv": H + 'o1,"c\n\n1",2025-01-01,5\no2,c2,2025-01-02,6\n'},
    "crlf": {"orders.csv": (H + "o1,c1,2025-01-01,5\no2,c2,2025-01-02,6\n").replace("\n", "\r\n")},
    "crlf_blank": {"orders.csv": (H + "o1,c1,2025-01-01,5\n\no2,c2,2025-01-02,6\n").replace("\n", "\r\n")},
    "lone_cr_inside": {"orders.csv": H + "o1,c1,2025-01-01,5\ro2,c2,2025-01-02,6\n"},
    "cr_only": {"orders.csv": (H + "o1,c1,2025-01-01,5\no2,c2,2025-01-02,6\n").replace("\n", "\r")},
    "spaces_line": {"orders.csv": H + "o1,c1,2025-01-01,5\n   \no2,c2,2025-01-02,6\n"},
    "no_final_newline": {"orders.csv": H + "o1,c1,2025-01-01,5"},
    "header_only": {"orders.csv": H},
    "one_column_blank": {"orders.csv": H + "o1,c1,2025-01-01,5\n", "customers.csv": "customer_id\nc1\n\nc2\n"},
    "one_column_quoted_empty": {"orders.csv": H + "o1,c1,2025-01-01,5\n", "customers.csv": 'customer_id\nc1\n""\nc2\n'},
    "one_column_big_quoted_break": {"orders.csv": H + "o1,c1,2025-01-01,5\n", "customers.csv": "customer_id\n" +
                                    "".join(f"c{i}\n" for i in range(200_000)) + '"c\nx"\n' +
                                    "".join(f"d{i}\n" for i in range(200_000))},
    "big_quoted_break": {"orders.csv": H + "".join(f"o{i},c{i},2025-01-01,5\n" for i in range(100_000)) +
                         'o,"c\nx",2025-01-01,5\n' + "".join(f"p{i},c{i},2025-01-01,5\n" for i in range(100_000))},
    "bom_semicolon": {"orders.csv": "\ufeff" + H.replace(",", ";") + "o1;c1;2025-01-01;5\n"},
    "sep_line": {"orders.csv": "sep=,\n" + H + "o1,c1,2025-01-01,5\n"},
    "short_and_long_lines": {"orders.csv": H + "o1,c1,2025-01-01\no2,c2,2025-01-02,6,7\no3,c3,2025-01-03,8\n"},
}


def build(corpus: Path) -> None:
    import gapkit.sample

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "sample", corpus / "sample")
    for seed, n in ((3, 20_000), (5, 3_000)):
        gapkit.sample.write(gapkit.sample.generate(n_orders=n, seed=seed, bad_rows=True), corpus / f"bad_rows_{n}")
        gapkit.sample.write(gapkit.sample.generate(n_orders=n, seed=seed, bad_rows=True), corpus / f"bad_rows_{n}_pq",
                            fmt="parquet")
    import shapes

    for name in shapes.SHAPES:
        shapes.write_shape(name, corpus / f"shape_{name}")
    import test_hostile

    for group in ("UNREADABLE", "READABLE", "QUARANTINED"):
        for name, case in getattr(test_hostile, group).items():
            files = case[0]
            if isinstance(files, dict):
                (corpus / f"hostile_{group.lower()}_{name}").mkdir()
                test_hostile.write(corpus / f"hostile_{group.lower()}_{name}", files)
    for name, files in READING.items():
        (corpus / f"reading_{name}").mkdir()
        test_hostile.write(corpus / f"reading_{name}", files)
    for seed in range(6):
        _odd_folder(corpus / f"odd_{seed}", seed, 400, 0.5)
    for seed in (10, 11):
        _odd_folder(corpus / f"mixed_{seed}", seed, 150_000, 0.0005)  # past one 65,536-row chunk
    print(f"{len(list(corpus.iterdir()))} folders in {corpus}")


def dump(corpus: Path, out: Path, extra: list[str]) -> None:
    import gapkit

    results = {}
    folders = sorted(p for p in corpus.iterdir() if p.is_dir()) + [Path(e) for e in extra]
    start = time.perf_counter()
    for folder in folders:
        try:
            data = gapkit.load(folder)
            results[str(folder)] = ("ok", dict(data.tables), data.rejects, data.counts, tuple(data.notes))
        except Exception as error:  # noqa: BLE001 - the error is the result
            results[str(folder)] = ("error", type(error).__name__, str(error))
    with open(out, "wb") as handle:
        pickle.dump(results, handle, protocol=5)
    print(f"{len(results)} folders loaded by {gapkit.__file__} in {time.perf_counter() - start:.1f} s -> {out}")


def compare(before: Path, after: Path) -> int:
    with open(before, "rb") as handle:
        a = pickle.load(handle)
    with open(after, "rb") as handle:
        b = pickle.load(handle)
    failures = 0
    assert set(a) == set(b), set(a) ^ set(b)
    for folder in sorted(a):
        x, y = a[folder], b[folder]
        try:
            assert x[0] == y[0], f"{x[0]} before, {y[0]} after: {x[1:]} / {y[1:]}"
            if x[0] == "error":
                assert x[1:] == y[1:], f"{x[1:]} != {y[1:]}"
                continue
            assert list(x[1]) == list(y[1]), (list(x[1]), list(y[1]))
            for name in x[1]:
                pd.testing.assert_frame_equal(x[1][name], y[1][name], check_exact=True, obj=f"{name}")
                for column in x[1][name].columns:  # assert_frame_equal takes -0.0 for 0.0
                    if pd.api.types.is_float_dtype(x[1][name][column].dtype):
                        assert (np.signbit(x[1][name][column].to_numpy()) ==
                                np.signbit(y[1][name][column].to_numpy())).all(), f"{name}.{column}: sign of zero"
            pd.testing.assert_frame_equal(x[2], y[2], check_exact=True, obj="rejects")
            pd.testing.assert_frame_equal(x[3], y[3], check_exact=True, obj="counts")
            assert x[4] == y[4], f"notes differ:\n{x[4]}\n{y[4]}"
        except AssertionError as error:
            failures += 1
            print(f"DIFFERS {folder}: {str(error)[:2000]}")
    kept = sum(len(t) for r in a.values() if r[0] == "ok" for t in r[1].values())
    rejects = sum(len(r[2]) for r in a.values() if r[0] == "ok")
    errors = sum(r[0] == "error" for r in a.values())
    print(f"{len(a)} folders compared ({kept:,} kept rows, {rejects:,} rejects, {errors} input errors): "
          f"{'all identical' if not failures else f'{failures} differ'}")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("build").add_argument("corpus", type=Path)
    d = sub.add_parser("dump")
    d.add_argument("corpus", type=Path)
    d.add_argument("out", type=Path)
    d.add_argument("--extra", nargs="*", default=[], help="more folders (e.g. benchmarks/data/1000000/csv)")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.command == "build":
        build(args.corpus)
    elif args.command == "dump":
        dump(args.corpus, args.out, args.extra)
    else:
        return compare(args.before, args.after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
