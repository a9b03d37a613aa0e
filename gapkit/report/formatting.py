"""Numbers as an analyst prints them, in one place for every report table and sentence.

Shares as percentages with one decimal, durations with their unit, NPS and scores to one or
two decimals, p-values as ``< 0.001``, money with thousands separators and the configured
currency, and a dash for a missing value. Tables keep their numbers (what tests and CSVs
read); only what is shown is formatted, through :func:`table`, a pandas Styler.

Examples
--------
>>> from gapkit import formatting
>>> formatting.kpi_value(0.7316, "csat"), formatting.p_value(4.6e-50)
('73.2%', '< 0.001')
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS

MISSING = "—"


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value)) or (isinstance(value, float) and not np.isfinite(value))
    except (TypeError, ValueError):
        return False


def share(value, decimals: int = 1) -> str:
    return MISSING if _missing(value) else f"{float(value):.{decimals}%}"


def points(value) -> str:
    """A difference of two shares, in percentage points."""
    return MISSING if _missing(value) else f"{100 * float(value):+.1f} pp"


def number(value, digits: int = 3) -> str:
    """A plain number to ``digits`` significant digits, thousands separated, never in e-notation."""
    if _missing(value):
        return MISSING
    value = float(value)
    if value == 0:
        return "0"
    magnitude = int(np.floor(np.log10(abs(value))))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def count(value) -> str:
    return MISSING if _missing(value) else f"{int(value):,}"


def p_value(value) -> str:
    if _missing(value):
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_phrase(value) -> str:
    """A p-value inside a sentence: "p < 0.001" or "p = 0.041"."""
    shown = p_value(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def p_brief(value) -> str:
    """A p-value inside a sentence in two significant digits: "p = 0.3", "p = 0.012", and
    "p < 0.001" below that (no "p = 0" or "p = 2.2e-285" in a headline)."""
    if _missing(value):
        return f"p = {MISSING}"
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def money(value, currency: str = "") -> str:
    if _missing(value):
        return MISSING
    text = f"{float(value):,.0f}"
    return f"{text} {currency}".strip()


def _unit(kpi: str) -> str:
    return KPIS[kpi].unit if kpi in KPIS else ""


def kpi_value(value, kpi: str) -> str:
    """A value of ``kpi`` in its unit: 73.2%, 5.61 hours, 23.3 (NPS), 3.90 (a mean score)."""
    if _missing(value):
        return MISSING
    unit = _unit(kpi)
    if unit == "share":
        return share(value)
    if unit == "hours" and abs(float(value)) < 1:  # "0.261 hours" reads as a riddle; 16 minutes does not
        return f"{60 * float(value):.0f} minutes"
    if unit in ("hours", "days"):
        return f"{number(value)} {unit}"
    if unit == "NPS points":
        return f"{float(value):.1f}"
    return f"{float(value):.2f}"


def kpi_gap(value, kpi: str) -> str:
    """A gap or effect of ``kpi``: percentage points for shares, the KPI's unit otherwise."""
    if _missing(value):
        return MISSING
    if _unit(kpi) == "share":
        return points(value)
    text = kpi_value(abs(value), kpi)
    return ("+" if value >= 0 else "-") + text  # ASCII minus: a pasted cell stays a number in a spreadsheet


def text(value) -> str:
    """Text from the data as a report shows it: invisible characters (ANSI escapes, controls,
    bidi and zero-width characters) removed and private data (e-mail, phone, IBAN, card, id)
    redacted, by :func:`gapkit.text.redact`."""
    from gapkit.analysis.text import redact

    return MISSING if _missing(value) else redact(str(value))


def label(value) -> str:
    """Text from the data as a chart shows it: redacted, and ``$`` kept from starting mathtext."""
    return text(value).replace("$", r"\$")


#: Column kinds for :func:`table`; a kind is a function of (value, row).
KINDS: dict[str, Callable] = {
    "share": lambda v, row: share(v),
    "points": lambda v, row: points(v),
    "number": lambda v, row: number(v),
    "count": lambda v, row: count(v),
    "p": lambda v, row: p_value(v),
    "money": lambda v, row: money(v),
    "kpi": lambda v, row: kpi_value(v, row.get("kpi", "")),
    "gap": lambda v, row: kpi_gap(v, row.get("kpi", "")),
    "text": lambda v, row: text(v),
}


def formatted(frame: pd.DataFrame, kinds: Mapping[str, str | Callable], currency: str = "") -> pd.DataFrame:
    """A copy with every column as display text: named columns by their kind, others by dtype."""
    out = pd.DataFrame(index=frame.index)
    records = frame.to_dict("records")
    for column in frame.columns:
        kind = kinds.get(column)
        if kind is None:
            kind = ("count" if pd.api.types.is_integer_dtype(frame[column].dtype) else
                    "number" if pd.api.types.is_float_dtype(frame[column].dtype) else "text")
        if kind == "money" and currency:
            function = lambda v, row: money(v, currency)  # noqa: E731
        else:
            function = KINDS[kind] if isinstance(kind, str) else kind
        out[column] = [function(v, row) for v, row in zip(frame[column], records)]
    return out


class EmptyTable:
    """What :func:`table` shows for a frame without columns: a line, not a table without headers."""

    def __init__(self, caption: str | None = None):
        self.caption = caption

    def to_html(self) -> str:
        return f"<p><em>{html.escape(self.caption or 'Nothing to show.')}</em></p>"

    _repr_html_ = to_html

    def __repr__(self) -> str:
        return self.caption or "Nothing to show."


def table(frame: pd.DataFrame, kinds: Mapping[str, str | Callable] | None = None, currency: str = "",
          caption: str | None = None):
    """A Styler showing ``frame`` as formatted text, right-aligned numbers, no index.

    Text from the data is redacted (:func:`text`) and escaped by the Styler (``escape="html"``);
    so are the column headers, which a pivot takes from the data (segment names), and the caption.
    """
    if frame.columns.empty:
        return EmptyTable(None if caption is None else text(caption))
    shown = formatted(frame, kinds or {}, currency)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    # the table's id from its content, not random: a re-run gives the same HTML (nbval, diffs)
    digest = hashlib.sha1(pd.util.hash_pandas_object(shown, index=False).to_numpy().tobytes()
                          + "|".join(map(str, shown.columns)).encode()).hexdigest()[:8]
    styler = shown.style.hide(axis="index").format(escape="html").set_uuid(digest)
    # headers are shown through a formatter, not renamed: callers still hide or style a column
    # by its own name (actions hides "_row")
    styler = styler.format_index(lambda label: html.escape(text(label), quote=False), axis="columns")
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    words = [c for c in frame.columns if c not in numeric]
    if words:  # text reads from the left, header included (notebook CSS right-aligns every cell)
        styler = styler.set_table_styles({c: [{"selector": "", "props": "text-align: left"}] for c in words},
                                         overwrite=False)
    if caption:
        styler = styler.set_caption(html.escape(text(caption)))
    return styler
