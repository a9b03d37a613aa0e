"""The notebook suite copied for JupyterLab (``gapkit notebooks DIR``): set to the user's data,
writing into its own scratch folder, never over a published report."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from gapkit.contract.loading import last_complete_day, source_label
from gapkit.errors import InputError
from gapkit.pipeline.runner import NOTEBOOK_DIR, SOURCE_NOTEBOOKS


def copy_notebooks(target: str | Path, data: str | Path, as_of: str | None = None, config: str | Path | None = None,
                   force: bool = False) -> list[Path]:
    """The notebook suite in ``target``, for JupyterLab, with its parameters set to this data.

    Each copy's ``parameters`` cell names the data (a folder, or a database URL without its
    password: the notebooks then take it from PGPASSWORD or ~/.pgpass), report date and configuration, and
    writes its artifacts to ``target/reports/interactive``, never to a published report. Stored
    outputs (the sample's) are cleared. Existing notebooks are kept unless ``force``.

    Examples
    --------
    >>> paths = gapkit.sample.write(gapkit.sample.generate(n_orders=500), "shop")
    >>> from gapkit.pipeline.lab import copy_notebooks
    >>> [path.name for path in copy_notebooks("analysis", data="shop", as_of="2025-06-30")]
    ['01_current_state.ipynb', '02_desired_state.ipynb', '03_gap_identification.ipynb', '04_impact_measurement.ipy...
    ...
    """
    target = Path(target).resolve()
    if as_of is None:
        from gapkit.config import read

        as_of, _ = last_complete_day(data, columns=read(config).columns if config else None)
    existing = [target / f"{n}.ipynb" for n in SOURCE_NOTEBOOKS if (target / f"{n}.ipynb").exists()]
    if existing and not force:
        raise InputError(f"{existing[0]} exists; pick an empty folder or pass --force to overwrite the notebooks.")
    target.mkdir(parents=True, exist_ok=True)
    values = {"data": source_label(data), "as_of": as_of, "config": str(Path(config).resolve()) if config else "",
              "out": str(target / "reports" / "interactive")}
    written = []
    for name in SOURCE_NOTEBOOKS:  # the report suite and the quickstart for exploring
        notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = _with_values(cell.source, values)
        nbformat.write(notebook, target / f"{name}.ipynb")
        written.append(target / f"{name}.ipynb")
    return written


def _with_values(source: str, values: dict) -> str:
    """A parameters cell (``name: str = "literal"  # comment`` lines) with new literals."""
    import re

    def replace(match):
        name = match.group(1)
        return f'{name}: str = {json.dumps(values[name])}{match.group(3)}' if name in values else match.group(0)

    return re.sub(r'^(\w+): str = ("[^"]*")(.*)$', replace, source, flags=re.MULTILINE)
