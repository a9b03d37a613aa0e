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
    >>> tables.columns("orders"), tables.loaded
    (['order_id'], ())
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

    def columns(self, name: str) -> list[str]:
        """The table's column names, from its file's schema when it has not been read."""
        if name in self._frames or name not in self.paths:
            return list(self[name].columns)
        import pyarrow.parquet as pq

        return [c for c in pq.read_schema(self.paths[name]).names if not c.startswith("__index_level_")]

    def column(self, name: str, column: str) -> pd.Series:
        """One column of the table, read alone from its file when the table has not been read."""
        if name in self._frames or name not in self.paths:
            return self[name][column]
        return pd.read_parquet(self.paths[name], columns=[column])[column]

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


def column_names(data, name: str) -> list[str]:
    """The columns of table ``name`` of ``data``, without reading a stored table that is not read yet."""
    tables = getattr(data, "tables", data)
    return tables.columns(name) if isinstance(tables, StoredTables) else list(data[name].columns)


def column_values(data, name: str, column: str) -> pd.Series:
    """Column ``column`` of table ``name``, read alone from a stored table that is not read yet."""
    tables = getattr(data, "tables", data)
    return tables.column(name, column) if isinstance(tables, StoredTables) else data[name][column]
