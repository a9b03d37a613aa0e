"""A run: its steps and what each reads and writes (``steps``), the runner that executes the
notebooks (``runner``), and safe publishing into the report folder (``report_folder``)."""

from gapkit.pipeline.steps import (
    HISTORY,
    MANIFEST,
    NOTEBOOKS,
    SETTINGS,
    STEPS,
    VALIDATED,
    Step,
    carried,
    dataset,
    keep,
    maker,
    prepare,
    write_settings,
)

__all__ = ["HISTORY", "MANIFEST", "NOTEBOOKS", "SETTINGS", "STEPS", "VALIDATED", "Step", "carried", "dataset", "keep",
           "maker", "prepare", "write_settings"]
