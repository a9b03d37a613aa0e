"""Writing the synthetic tables and their ground truth to a folder."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd

from gapkit.sample import truth as T


def write(tables: dict[str, pd.DataFrame], out_dir, fmt: str = "csv",
          params: dict | None = None) -> list[Path]:
    """Write tables as ``<name>.csv`` or ``<name>.parquet`` plus ``ground_truth.json``.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        As returned by :func:`generate`.
    out_dir : str or Path
        Folder, created if needed. Existing files of the same names are replaced.
    fmt : {"csv", "parquet"}
        CSV timestamps are ISO 8601 UTC with a ``Z`` suffix (``2024-05-01T13:45:10Z``);
        missing values are empty fields.
    params : dict, optional
        Generation parameters recorded under ``"generated"`` in ``ground_truth.json``.

    Returns
    -------
    list of Path
        The written files, tables first and ``ground_truth.json`` last.

    Examples
    --------
    >>> import tempfile
    >>> from gapkit.sample import generate, write
    >>> paths = write(generate(300, bad_rows=False), tempfile.mkdtemp())
    >>> [p.name for p in paths][:2]
    ['orders.csv', 'customers.csv']
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        else:
            df.to_parquet(path, index=False)
        paths.append(path)
    truth = copy.deepcopy(T.GROUND_TRUTH)
    truth["generated"] = {**(params or {}), "format": fmt,
                          "row_counts": {k: int(len(v)) for k, v in tables.items()}}
    gt_path = out / "ground_truth.json"
    gt_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    paths.append(gt_path)
    return paths
