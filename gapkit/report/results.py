"""The one shape every analysis result takes.

A result holds a tidy ``table`` (the artifact's rows), says what it found in ``summary()``,
shows itself in a console (``repr``) and in Jupyter (``_repr_html_``) from that same table,
writes it through the formula-safe writer (``to_csv``) and, where there is a picture, draws it
with ``plot(ax=None)``. Subclasses set ``title``, the display ``kinds`` of their columns and,
when the shown table differs from the stored one, ``shown()``; in the spirit of statsmodels'
results and lifelines' fitters, but as small frozen dataclasses.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd


class Summary(str):
    """A result's summary: text that shows itself as text (no quotes, no \\n) in a console and
    as paragraphs in Jupyter, and is a ``str`` everywhere else."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return "".join(f"<p>{html.escape(line)}</p>" for line in self.split("\n") if line.strip())


@dataclass(frozen=True, eq=False)
class Result:
    """Base of gapkit's results: ``table``, ``summary()``, reprs from the table, ``to_csv``.

    Examples
    --------
    >>> import pandas as pd
    >>> from gapkit.report.results import Result
    >>> Result(pd.DataFrame({"kpi": ["csat"], "value": [0.82]})).summary()
    Result: 1 row
    """

    table: pd.DataFrame
    title: ClassVar[str] = "Result"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("summary")
        if own is not None and not getattr(own, "_returns_summary", False):
            def summary(self, *args, _own=own, **options):
                return Summary(_own(self, *args, **options))

            summary.__doc__, summary.__name__, summary._returns_summary = own.__doc__, "summary", True
            cls.summary = summary
    artifact: ClassVar[str] = ""  # the contract's file name, when the table is one
    kinds: ClassVar[dict] = {}  # column -> gapkit.formatting kind, for display

    def summary(self) -> str:
        """What the result says, in plain sentences (one per line)."""
        rows = len(self.table)
        return Summary(f"{self.title}: {rows} row{'' if rows == 1 else 's'}")

    def shown(self) -> pd.DataFrame:
        """The columns and order a reader sees (the stored ``table`` keeps everything)."""
        return self.table

    def footnotes(self) -> tuple[str, ...]:
        """Lines printed under the table: rules, caveats, reasons."""
        return ()

    def styled(self):
        """``shown()`` as a formatted, escaped Styler (see :func:`gapkit.formatting.table`)."""
        from gapkit.report import formatting

        return formatting.table(self.shown(), self.kinds, currency=getattr(self, "currency", ""))

    def __repr__(self) -> str:
        shown = self.shown()
        body = (shown.to_string(index=False, float_format=lambda v: f"{v:.4g}") if len(shown)
                else "(no rows)")
        return "\n".join([self.title, self.summary(), body, *self.footnotes()])

    def _repr_html_(self) -> str:
        summary = html.escape(self.summary()).replace("\n", "<br>")
        notes = "".join(f"<p><small>{html.escape(n)}</small></p>" for n in self.footnotes() if n)
        # no rows: the summary says so; a table of bare headers would only look broken
        body = self.styled().set_caption(html.escape(self.title)).to_html() if len(self.shown()) else ""
        return f"<p><b>{html.escape(self.title)}.</b> {summary}</p>" + body + notes

    def to_csv(self, folder: str | Path, name: str | None = None) -> Path:
        """Write ``table`` into ``folder`` (contract columns first, formula-safe); returns the path.

        ``folder`` may also be the file itself ("reports/x/gaps.csv"): a path ending in .csv is
        a file, never a folder of that name.
        """
        from gapkit.report.publish import write_csv

        if str(folder).lower().endswith(".csv") and name is None:
            folder, name = Path(folder).parent, Path(folder).name
        name = name or self.artifact
        if not name:
            raise ValueError(f"{type(self).__name__} is not a contract artifact; pass name='....csv'")
        return write_csv(self.table, folder, name)
