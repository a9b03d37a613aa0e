"""Developer command: rebuild the notebooks from their .py sources and re-run them on data/sample.

Run from a checkout (``make notebooks`` or ``python tools/refresh_notebooks.py``) after editing
``notebooks/*.py`` or code that changes what the notebooks show, so that nbval compares against
fresh outputs. It writes into the checkout's ``notebooks/``, which is why it is not a ``gapkit``
command: from an installed wheel it would write into site-packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from gapkit.pipeline._kernel import SHARED_KERNEL_ENGINE, SharedKernel
from gapkit.pipeline.runner import SOURCE_NOTEBOOKS, RunError, notebook_cells, strip_run_metadata

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def sync_notebook_sources(notebooks_dir: Path = NOTEBOOK_DIR, progress=print) -> list[str]:
    """Rebuild each ``.ipynb`` whose cells differ from its paired percent-format ``.py``.

    The ``.py`` files (jupytext "percent" format) are the source a person edits, reviews and
    lints; the ``.ipynb`` files hold the executed outputs that nbval checks. A rebuilt notebook
    has no outputs until it is executed (:func:`refresh_committed_notebooks`).
    """
    try:
        import jupytext
    except ImportError:
        raise RunError("jupytext is needed to build the notebooks from their .py sources: "
                       "pip install 'gapkit[test]'") from None
    rebuilt = []
    for name in [n for n in SOURCE_NOTEBOOKS if (notebooks_dir / f"{n}.py").exists()]:
        source, target = notebooks_dir / f"{name}.py", notebooks_dir / f"{name}.ipynb"
        wanted = jupytext.read(source, fmt="py:percent")
        current = nbformat.read(target, as_version=4) if target.exists() else None
        if current is not None and notebook_cells(current) == notebook_cells(wanted):
            continue
        notebook = nbformat.v4.new_notebook(metadata=current.metadata if current is not None else {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        for cell in wanted.cells:
            make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
            new = make(cell.source.strip())
            if cell.metadata.get("tags"):
                new.metadata["tags"] = list(cell.metadata["tags"])
            notebook.cells.append(new)
        notebook.metadata.pop("jupytext", None)
        nbformat.write(notebook, target)
        progress(f"rebuilt {target.name} from {source.name}")
        rebuilt.append(name)
    return rebuilt


def refresh_committed_notebooks(notebooks_dir: Path = NOTEBOOK_DIR, progress=print) -> None:
    """Rebuild the notebooks from their .py sources and re-run them in place on data/sample, for nbval."""
    import papermill

    sync_notebook_sources(notebooks_dir, progress)
    kernel = SharedKernel(notebooks_dir)  # the same kernel setup as `gapkit run`: stored outputs match a run's
    try:
        for name in SOURCE_NOTEBOOKS:
            path = notebooks_dir / f"{name}.ipynb"
            progress(f"refreshing {path.name}")
            kernel.reset()
            papermill.execute_notebook(str(path), str(path), kernel_name="python3", progress_bar=False,
                                       km=kernel.manager, engine_name=SHARED_KERNEL_ENGINE)
            strip_run_metadata(path)
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    try:
        refresh_committed_notebooks()
    except RunError as error:
        sys.exit(f"refresh failed: {error}")
