"""What every report notebook does first, in one call.

Examples
--------
>>> settings = gapkit.notebook.setup("../gapkit.yml", data="../data/sample", as_of="2025-06-30",
...                                  out="../reports/interactive")
>>> data = gapkit.notebook.dataset(settings)
"""

from __future__ import annotations

import logging

from gapkit.config import Config, read


def setup(config: str | None, data: str, as_of: str | None, out: str) -> Config:
    """The run's settings from ``config`` ("" or None: defaults) with the notebook's parameters
    applied; gapkit's own log quieted (the reports say what matters) and the plot theme set."""
    from gapkit.plots import set_theme

    logging.getLogger("gapkit").setLevel(logging.ERROR)
    settings = read(config or None, data=data, as_of=as_of, out=out)
    set_theme()
    return settings


def dataset(settings: Config):
    """The checked input tables: read once by ``gapkit run`` into the run folder, or loaded now
    when the notebook runs on its own (see :func:`gapkit.pipeline.dataset`)."""
    from gapkit.pipeline import dataset as prepared

    return prepared(settings.data, settings.out_dir, settings.earliest)
