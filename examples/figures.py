"""Regenerate the figures examples/README.md quotes, from the converters and today's gapkit.

For each example whose extract is committed (olist, online_retail), and for helpdesk and
nps_survey when their downloaded file is given, this converts the public data, loads it with
``gapkit.load`` and measures ``gapkit.kpis(..., period=None)`` as of the example's date, then
writes the row counts and the overall KPI table between the README's markers::

    <!-- figures: olist -->
    ...
    <!-- /figures -->

Usage::

    python examples/figures.py                    # rewrite the committed examples' tables
    python examples/figures.py --check            # exit 1 when the README quotes other figures
    python examples/figures.py --helpdesk finale.csv --nps 20180908_post_clean.csv
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"


def committed() -> dict[str, tuple[list[str], str]]:
    """example -> (converter arguments, as_of) for the extracts in the repository."""
    return {
        "olist": (["--source", str(HERE / "olist" / "data")], "2018-10-22"),
        "online_retail": (["--source", str(HERE / "online_retail" / "data" / "online_retail_sample.csv.gz")],
                          "2011-12-09"),
    }


def downloaded(helpdesk: str | None, nps: str | None) -> dict[str, tuple[list[str], str]]:
    found = {}
    if helpdesk:
        found["helpdesk"] = (["--source", helpdesk], "2014-01-03")
    if nps:
        found["nps_survey"] = (["--source", nps], "2018-09-08")
    return found


def figures(example: str, arguments: list[str], as_of: str) -> str:
    """The markdown the README shows for one example: row counts, then the overall KPIs."""
    import gapkit

    logging.getLogger("gapkit").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, str(HERE / example / "convert.py"), *arguments, "--out", folder],
                       check=True, capture_output=True, text=True)
        data = gapkit.load(folder)
        table = gapkit.kpis(data, as_of=as_of, period=None)
    rejected = data.rejects.groupby(["table", "rule"])["row"].nunique()
    lines = [f"Measured with gapkit {gapkit.__version__}, `as_of=\"{as_of}\"` "
             f"(`python examples/figures.py` writes this block):", "",
             "| table | input | kept | rejected |", "|---|---|---|---|"]
    for row in data.counts.itertuples(index=False):
        rules = ", ".join(f"{rule} {count:,}" for (table_name, rule), count in rejected.items()
                          if table_name == row.table)
        lines.append(f"| {row.table} | {row.input_rows:,} | {row.kept:,} | {row.rejected:,}"
                     + (f" ({rules})" if rules else "") + " |")
    lines += ["", "| kpi | n | value | 95% CI |", "|---|---|---|---|"]
    overall = table[table["segment_by"] == "all"]
    for row in overall.itertuples(index=False):
        lines.append(f"| {row.kpi} | {row.n:,} | {_number(row.value, row.unit)} | "
                     f"{_number(row.ci_low, row.unit)}-{_number(row.ci_high, row.unit)} |")
    skipped = table.attrs.get("skipped", {})
    if skipped:
        lines += ["", f"Not measurable on this data: {', '.join(sorted(skipped))}."]
    return "\n".join(lines)


def _number(value: float, unit: str) -> str:
    if value != value:  # NaN: no interval at this n
        return "n/a"
    if unit == "share":
        return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"
    return f"{value:,.2f}"


def rewrite(text: str, example: str, block: str) -> str:
    pattern = re.compile(rf"(<!-- figures: {re.escape(example)} -->\n).*?(<!-- /figures -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: no '<!-- figures: {example} -->' ... '<!-- /figures -->' block")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README quotes other figures")
    parser.add_argument("--helpdesk", help="path to finale.csv (4TU), to refresh the helpdesk figures")
    parser.add_argument("--nps", help="path to 20180908_post_clean.csv, to refresh the NPS survey figures")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = text
    for example, (arguments, as_of) in {**committed(), **downloaded(args.helpdesk, args.nps)}.items():
        new = rewrite(new, example, figures(example, arguments, as_of))
    if args.check:
        if new != text:
            print(f"{README} quotes figures gapkit no longer gives; run python examples/figures.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    print(f"wrote the figures into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
