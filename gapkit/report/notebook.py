"""What every report notebook does first, in one call.

Examples
--------
>>> settings = gapkit.notebook.setup("../gapkit.yml", data="../data/sample", as_of="2025-06-30",
...                                  out="../reports/interactive")  # doctest: +SKIP
>>> data = gapkit.notebook.dataset(settings)  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from gapkit.config import Config, read


def setup(config: str | None, data: str, as_of: str | None, out: str) -> Config:
    """The run's settings from ``config`` ("" or None: defaults) with the notebook's parameters
    applied; gapkit's own log quieted (the reports say what matters) and the plot theme set."""
    from gapkit.report.plots import set_theme

    logging.getLogger("gapkit").setLevel(logging.ERROR)
    settings = read(config or None, data=data, as_of=as_of, out=out)
    set_theme()
    vector_charts()
    return settings


def vector_charts() -> None:
    """Charts as SVG with real text: sharp when zoomed, searchable, and the same bytes on every
    run (a fixed hash salt), so stored notebooks do not churn."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "gapkit"
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        # no creation date in the file: the same chart is the same bytes on every run
        set_matplotlib_formats("svg", bbox_inches="tight", metadata={"Date": None})


def dataset(settings: Config):
    """The checked input tables: read once by ``gapkit run`` into the run folder, or loaded now
    when the notebook runs on its own (see :func:`gapkit.pipeline.dataset`)."""
    from gapkit.pipeline.steps import dataset as prepared
    from gapkit.report.adapt import named_columns

    return prepared(settings.data, settings.out_dir, settings.earliest, settings.columns, as_of=settings.as_of,
                    extra=[column for _, column in named_columns(settings)])
