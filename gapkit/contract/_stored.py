"""Checked tables kept as Parquet files, read when first asked for.

A run checks its input once and writes the kept rows as Parquet; every report notebook then
reads them again. Reading every table whole up front made each notebook's memory grow with the
whole input, although a notebook may never touch some tables. :class:`StoredTables` reads a
table at its first use and keeps it, and says where each table lies (``paths``) so that an
engine that reads Parquet itself (Spark, DuckDB) can read it there instead of from memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd


class StoredTables(Mapping):
    """Table name -> DataFrame, each read from its Parquet file on first access.

    Examples
    --------
    >>> import pandas as pd, pathlib, tempfile
    >>> from gapkit.contract._stored import StoredTables
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"order_id": ["O1"]}).to_parquet(folder / "orders.parquet")
    >>> tables = StoredTables({"orders": folder / "orders.parquet"})
    >>> tables.loaded, len(tables["orders"]), tables.loaded
    ((), 1, ('orders',))
    """

    def __init__(self, paths: Mapping[str, str | Path]):
        self.paths = {name: Path(path) for name, path in paths.items()}
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            if name not in self.paths:
                raise KeyError(name)
            self._frames[name] = pd.read_parquet(self.paths[name])
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, name: object) -> bool:
        return name in self.paths

    @property
    def loaded(self) -> tuple[str, ...]:
        """The tables read so far."""
        return tuple(self._frames)

    def __repr__(self) -> str:
        names = [name if name in self._frames else f"{name} (not read)" for name in self.paths]
        return f"StoredTables({', '.join(names)})"


def stored_paths(data) -> dict[str, Path]:
    """Where the tables of ``data`` lie as Parquet files, when they were read from a run folder; else {}."""
    return dict(getattr(getattr(data, "tables", None), "paths", {}) or {})
