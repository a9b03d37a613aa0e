"""What leaves gapkit for readers: artifacts on disk and text in reports, made safe.

- CSV artifacts neutralise spreadsheet formula injection: a text cell starting with = + - @
  (or a tab or carriage return) gets a leading apostrophe, so Excel shows it as text.
- Text from the data (comments, segment names) is cleaned and redacted by
  :func:`gapkit.text.redact` (ANSI escapes, control, bidi and zero-width characters removed;
  e-mail addresses, phone numbers, IBANs, card numbers and passport-like ids replaced) and
  HTML-escaped before it reaches a report, so no live HTML or script reaches the HTML.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from gapkit.contract.artifacts import ARTIFACTS, VALIDATED
from gapkit.contract.artifacts import maker as artifact_maker
from gapkit.errors import InputError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# the contract's columns of each artifact, from the one registry (gapkit.artifacts)
ARTIFACT_COLUMNS = {file: list(artifact.columns) for file, artifact in ARTIFACTS.items()}


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which no text cell can be run as a spreadsheet formula."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column].dtype) or out[column].dtype == object:
            values = out[column]
            text = values.astype("str")
            # a plain number ("-25", "+3.5e2") is data a spreadsheet reads as a number, not a formula
            plain = text.str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", na=False)
            risky = values.notna() & text.str.startswith(FORMULA_START) & ~plain
            if risky.any():
                out[column] = values.astype(object).where(~risky, "'" + text)
            # Python's csv writer quotes a value holding "\n" but not one holding a lone "\r",
            # which a reader takes for a line end: 110 rows of kpis.csv shifted
            returns = out[column].notna() & out[column].astype("str").str.contains("\r", regex=False)
            if returns.any():
                out[column] = out[column].astype(object).where(
                    ~returns, out[column].astype("str").str.replace(r"\r\n?", "\n", regex=True))
    return out


def write_csv(frame: pd.DataFrame, folder: str | Path, name: str) -> Path:
    """Write an artifact with the contract's columns first, made formula-safe."""
    expected = ARTIFACT_COLUMNS.get(name, [])
    if frame.columns.empty:  # a section the data could not support: the artifact is its header
        frame = pd.DataFrame(columns=expected)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise InputError(f"{name}: columns {missing} missing from the artifact; the contract requires {expected}.")
    ordered = frame[expected + [c for c in frame.columns if c not in expected]]
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralize_formulas(ordered).to_csv(path, index=False)
    _write_twin(ordered, _twin(folder, name))
    return path


def _twin(folder: str | Path, name: str) -> Path:
    """Where the analysis' own values of an artifact wait for the later steps: the CSV is for
    people and formula-safe ("'+1+1"), and a segment read back from it would be another segment."""
    return Path(folder) / VALIDATED / f"{Path(name).stem}.parquet"


def _write_twin(frame: pd.DataFrame, twin: Path) -> None:
    import pyarrow

    twin.parent.mkdir(parents=True, exist_ok=True)
    try:
        frame.to_parquet(twin, index=False)
    except (pyarrow.ArrowException, ValueError, TypeError):  # a column Parquet cannot hold: the CSV serves
        twin.unlink(missing_ok=True)


def read_csv(folder: str | Path, name: str) -> pd.DataFrame:
    """Read an earlier notebook's artifact, saying which notebook makes it when it is missing:
    its values as the analysis held them (the Parquet twin :func:`write_csv` left in the run's
    folder), or the CSV when there is no twin (a report folder from elsewhere)."""
    path = Path(folder) / name
    if _twin(folder, name).exists():
        return pd.read_parquet(_twin(folder, name))
    if not path.exists():
        maker = artifact_maker(name) or "an earlier"
        raise InputError(f"{path}: not found. Run the {maker} notebook first (gapkit run runs them in order).")
    try:
        # only an empty field is missing: a segment called "NA" (North America) or "None" stays text
        return pd.read_csv(path, keep_default_na=False, na_values=[""],
                           dtype={"segment": "str", "segment_by": "str", "period": "str", "goal_id": "str"})
    except pd.errors.EmptyDataError:  # an artifact of a section the data could not support
        return pd.DataFrame()


def safe_text(value) -> str:
    """Text from the data, cleaned of invisible characters, redacted and HTML-escaped, ready for a report."""
    from gapkit.analysis.text import redact

    return html.escape(redact("" if value is None else str(value)))


def safe_frame(frame: pd.DataFrame, columns=None) -> pd.DataFrame:
    """Clean and redact free-text columns for display (pandas escapes HTML itself when rendering)."""
    from gapkit.analysis.text import redact

    out = frame.copy()
    # a categorical column (segments read from Parquet) holds text from the data too
    for column in columns or [c for c in out.columns if out[c].dtype == object or
                              pd.api.types.is_string_dtype(out[c].dtype) or
                              isinstance(out[c].dtype, pd.CategoricalDtype)]:
        out[column] = out[column].map(lambda v: redact(v) if isinstance(v, str) else v)
    return out


def escape_markdown(text: str) -> str:
    """Text that Markdown shows literally: no HTML, links, emphasis or headings from the data."""
    text = html.escape(text, quote=False)
    text = "".join("\\" + ch if ch in "\\`*_[]()#!|" else ch for ch in text)
    # no autolink: a URL or www. address in a segment name or id stays text, not a live link
    return re.sub(r"(?i)(://|www\.)", lambda m: m.group(1).replace("/", "&#47;").replace(".", "&#46;"), text)


def paragraphs(lines) -> object:
    """Sentences as escaped Markdown paragraphs: prose in the report's own type, never monospace."""
    from IPython.display import Markdown

    from gapkit.analysis.text import redact

    if isinstance(lines, str):
        lines = [part for part in lines.split("\n") if part.strip()]
    return Markdown("\n\n".join(escape_markdown(redact(str(line)).strip()) for line in lines))


def findings(lines: list[str], title: str = "Findings"):
    """An executive-summary block: the findings (or other notes under ``title``) as an escaped Markdown list."""
    from IPython.display import Markdown

    from gapkit.analysis.text import redact

    items = "\n".join(f"- {escape_markdown(redact(line))}" for line in lines)
    return Markdown(f"**{escape_markdown(title)}**\n\n{items}")
