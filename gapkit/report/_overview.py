"""``index.html``: where the business stands, on one screen, with links into the four reports.

Built from the run's artifacts only (kpis.csv, current.csv, alerts.csv, gaps.csv,
goal_progress.csv, action_plan.csv, row_counts.csv) and the history of earlier runs, so it says
nothing the reports do not. One self-contained file: inline CSS and SVG sparklines, no scripts,
no requests, so it opens offline like the reports.

``gapkit run`` writes it; :func:`write_index` rebuilds it for a published report folder.

Examples
--------
>>> from gapkit.report import _overview
>>> print(_overview.navigation("01_current_state"))
<nav><a href='index.html'>Overview</a><a href='01_current_state.html'><b>Current state</b></a><a href='02_desi...
...
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS
from gapkit.report import formatting

INDEX = "index.html"
REPORTS = (("01_current_state", "Current state"), ("02_desired_state", "Desired state"),
           ("03_gap_identification", "Gaps and actions"), ("04_impact_measurement", "Impact and cost-benefit"))
HEADLINE = ("nps", "csat", "csat_mean", "repeat_purchase_rate", "first_response_sla", "followup_coverage",
            "on_time_delivery_rate", "referral_rate")
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd2d9;font-size:13px}
nav{background:#fff;border-bottom:1px solid #e4e7eb;padding:8px 28px}
nav a{margin-right:18px;color:#0b69a3;text-decoration:none;font-size:14px}main{padding:18px 28px;max-width:1240px}
h2{font-size:17px;margin:22px 0 8px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:12px 14px;width:270px}
.card .label{font-size:13px;color:#52606d}.card .value{font-size:26px;font-weight:600;margin:2px 0}
.card .detail{font-size:12px;color:#52606d;line-height:1.45}.worse{color:#b42318}.better{color:#027a48}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}caption{text-align:left;font-size:13px;
color:#52606d;padding:4px 0}th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8}td.num{text-align:right;white-space:nowrap}p.note{font-size:12px;color:#52606d}
"""


def write_index(folder: str | Path, as_of: str, data_name: str = "", engine: str = "pandas",
                history: pd.DataFrame | None = None, currency: str = "") -> Path:
    """Write ``index.html`` into a report folder from its artifacts; returns its path."""
    from importlib.metadata import version

    __version__ = version("gapkit")

    folder = Path(folder)
    title = f"gapkit · Overview · {data_name} · as of {as_of}" if data_name else f"gapkit · Overview · as of {as_of}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>Post-sale follow-up: where we stand on {html.escape(as_of)}</h1>",
        f"<p>data: {html.escape(data_name or 'not named')} · as of {html.escape(as_of)} · KPIs on the "
        f"{html.escape(engine)} engine · gapkit {html.escape(__version__)}</p></header>",
        navigation(),
        "<main>",
        _cards(folder, history, as_of),
        _actions(folder, currency),
        _goals(folder),
        _alerts(folder),
        _quality(folder),
        "</main></body></html>",
    ]
    target = folder / INDEX
    target.write_text("\n".join(p for p in parts if p), encoding="utf-8")
    return target


def navigation(current: str | None = None) -> str:
    """The bar of links between the overview and the four reports."""
    links = [f"<a href='{INDEX}'>Overview</a>"] + [
        f"<a href='{name}.html'>{'<b>' if name == current else ''}{html.escape(label)}"
        f"{'</b>' if name == current else ''}</a>" for name, label in REPORTS]
    return "<nav>" + "".join(links) + "</nav>"


def _read(folder: Path, name: str) -> pd.DataFrame:
    from gapkit.errors import InputError
    from gapkit.report.publish import read_csv

    try:
        return read_csv(folder, name)
    except InputError:  # no such artifact (a section the data could not support): nothing to show
        return pd.DataFrame()


def _cards(folder: Path, history: pd.DataFrame | None, as_of: str | None = None) -> str:
    from gapkit.report.story import change_since_before

    kpis, current = _read(folder, "kpis.csv"), _read(folder, "current.csv")
    if kpis.empty:
        return ""
    overall = kpis[(kpis["segment_by"] == "all") & (kpis["period"] == "all")]
    now = current[current["segment_by"] == "all"] if len(current) else current
    cards = []
    for kpi in [k for k in HEADLINE if k in set(overall["kpi"])]:
        whole = overall[overall["kpi"] == kpi].iloc[0]
        value = float(whole["value"])
        if not np.isfinite(value) or (KPIS[kpi].unit == "share" and value in (0.0, 1.0)):
            continue
        here = now[now["kpi"] == kpi] if len(now) else now
        row = (here.iloc[0] if len(here) and np.isfinite(float(here.iloc[0]["value"]))
               and np.isfinite(float(here.iloc[0]["ci_low"])) else whole)
        window = str(row.get("window", "")) if row is not whole else "the whole history"
        window = window.replace("..", " to ") if ".." in window else window
        lines = [f"95% CI {formatting.kpi_value(row['ci_low'], kpi)} to {formatting.kpi_value(row['ci_high'], kpi)}, "
                 f"n = {int(row['n']):,}; {html.escape(window)}"]
        if row is not whole:
            lines.append(f"whole history {formatting.kpi_value(value, kpi)}")
            change = change_since_before(kpis, row)
            if change is not None:
                delta, p = change
                direction = "better" if (delta > 0) == (KPIS[kpi].better == "higher") else "worse"
                significant = p < 0.05
                lines.append(f"<span class='{direction if significant else ''}'>{formatting.kpi_gap(delta, kpi)} "
                             f"against the months before, {'a real change' if significant else 'within the noise'} "
                             f"({formatting.p_phrase(p)})</span>")
        previous = _previous_run(history, kpi, as_of)
        if previous is not None:
            # history keeps each run's whole-history figure: beside a current level, say so, or the
            # reader takes the difference for a change since the last report
            said = "previous run" if row is whole else "whole history at the previous run"
            lines.append(f"{said} (as of {html.escape(previous[0])}): {formatting.kpi_value(previous[1], kpi)}")
        cards.append(f"<div class='card'><div class='label'>{html.escape(KPIS[kpi].label)}</div>"
                     f"<div class='value'>{formatting.kpi_value(row['value'], kpi)}</div>"
                     f"{sparkline(kpis, kpi, until=_window_end(row))}"
                     f"<div class='detail'>{'<br>'.join(lines)}</div></div>")
        if len(cards) == 4:
            break
    if not cards:
        return ""
    return ("<h2>Headline KPIs now <small>(<a href='01_current_state.html'>current state</a>)</small></h2>"
            "<div class='cards'>" + "".join(cards) + "</div>")


def _previous_run(history: pd.DataFrame | None, kpi: str, as_of: str | None = None):
    """The latest earlier run's whole-history figure: a run for a later report date (a backfill
    of past dates) is no previous run."""
    if history is None or history.empty:
        return None
    rows = history[(history["kpi"] == kpi) & (history["segment_by"] == "all") & (history["period"] == "all")]
    if as_of is not None:
        rows = rows[rows["as_of"].astype(str) < str(as_of)]
    if rows.empty:
        return None
    last = rows.sort_values("as_of").iloc[-1]
    return str(last["as_of"]), float(last["value"])


def _window_end(row) -> str | None:
    window = row.get("window") if hasattr(row, "get") else None
    return str(window).split("..")[1] if isinstance(window, str) and ".." in window else None


def sparkline(kpis: pd.DataFrame, kpi: str, months: int = 12, width: int = 240, height: int = 36,
              until: str | None = None) -> str:
    """The KPI's last ``months`` monthly values as a small inline SVG line, or nothing.

    ``until``: the last month to draw (the current level's window end): later months are still
    open (a cohort whose 90 days have not passed) and would draw a fall that is not there.
    """
    rows = kpis[(kpis["kpi"] == kpi) & (kpis["segment_by"] == "all") & (kpis["period"] != "all")]
    rows = rows[rows["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    if until:
        rows = rows[rows["period"].astype(str) <= until]
    rows = rows.sort_values("period").tail(months)
    values = pd.to_numeric(rows["value"], errors="coerce").to_numpy(float)
    if np.isfinite(values).sum() < 3:
        return ""
    low, high = np.nanmin(values), np.nanmax(values)
    span = high - low if high > low else 1.0
    xs = np.linspace(2, width - 2, len(values))
    ys = height - 3 - (values - low) / span * (height - 6)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys) if np.isfinite(y))
    first, last = rows["period"].iloc[0], rows["period"].iloc[-1]
    return (f"<svg width='{width}' height='{height}' role='img' aria-label='{html.escape(KPIS[kpi].label)} by month, "
            f"{first} to {last}'><polyline fill='none' stroke='#0b69a3' stroke-width='1.6' points='{points}'/></svg>")


def _actions(folder: Path, currency: str) -> str:
    plan = _read(folder, "action_plan.csv")
    if plan.empty:
        gaps = _read(folder, "gaps.csv")
        said = ("No goal shows a significant shortfall." if len(gaps) else "No goals are configured, so nothing "
                "is ranked; report 2 proposes targets.")
        return f"<h2>What to fix first</h2><p>{html.escape(said)}</p>"
    rows = []
    for r in plan.sort_values("rank").head(3).itertuples(index=False):
        who = "everyone" if r.segment_by == "all" else f"{r.segment_by} {r.segment}"
        worth = (f"{formatting.money(r.expected_value, currency)} / month"
                 if np.isfinite(pd.to_numeric(r.expected_value, errors="coerce")) else "")
        rows.append(f"<tr><td class='num'>{int(r.rank)}</td><td>{html.escape(KPIS[r.kpi].label)}</td>"
                    f"<td>{html.escape(formatting.text(who))}</td>"
                    f"<td class='num'>{formatting.kpi_gap(r.gap, r.kpi)}</td>"
                    f"<td>{html.escape(formatting.text(r.action))}</td><td class='num'>{html.escape(worth)}</td></tr>")
    return ("<h2>What to fix first <small>(<a href='03_gap_identification.html#Action-plan'>the action plan, with its "
            f"evidence</a>)</small></h2><table><caption>The {min(3, len(plan))} most urgent of {len(plan)} significant "
            "shortfalls</caption><tr><th>rank</th><th>KPI</th><th>who</th><th>short by</th><th>first step</th>"
            "<th>worth closing</th></tr>" + "".join(rows) + "</table>")


def _goals(folder: Path) -> str:
    gaps, progress = _read(folder, "gaps.csv"), _read(folder, "goal_progress.csv")
    if gaps.empty:
        return ""
    heading = progress.set_index("goal_id")["status"] if len(progress) else pd.Series(dtype="str")
    rows = []
    for r in gaps.itertuples(index=False):
        who = "everyone" if r.segment_by == "all" else f"{r.segment_by} {r.segment}"
        course = str(heading.get(r.goal_id, "")).replace("_", " ")
        rows.append(f"<tr><td>{html.escape(formatting.text(r.goal_id))}</td><td>{html.escape(KPIS[r.kpi].label)}</td>"
                    f"<td>{html.escape(formatting.text(who))}</td>"
                    f"<td class='num'>{formatting.kpi_value(r.current, r.kpi)}</td>"
                    f"<td class='num'>{formatting.kpi_value(r.target, r.kpi)}</td>"
                    f"<td>{html.escape(str(r.status).replace('_', ' '))}</td><td>{html.escape(course)}</td></tr>")
    return ("<h2>Goals <small>(<a href='02_desired_state.html'>SMART checks</a>, "
            "<a href='04_impact_measurement.html'>progress</a>)</small></h2><table><caption>Each goal's current level "
            "against its target: met, a significant shortfall, or short within the noise; and where the recent trend "
            "heads by the deadline</caption><tr><th>goal</th><th>KPI</th><th>who</th><th>now</th><th>target</th>"
            "<th>today</th><th>by the deadline</th></tr>" + "".join(rows) + "</table>")


def _alerts(folder: Path) -> str:
    alerts = _read(folder, "alerts.csv")
    if alerts.empty:
        return ("<h2>Alerts</h2><p>No month is out of control (<a href='01_current_state.html#Alerts'>what was "
                "checked</a>).</p>")
    worse = alerts[alerts["direction"] == "worse"].sort_values(["period", "z"], ascending=[False, True]).head(5)
    if worse.empty:
        return (f"<h2>Alerts</h2><p>{len(alerts)} month(s) out of control, all for the better "
                f"(<a href='01_current_state.html#Alerts'>see them</a>).</p>")
    items = "".join(
        f"<li>{html.escape(KPIS[r.kpi].label)}"
        f"{'' if r.segment_by == 'all' else html.escape(formatting.text(f' for {r.segment_by} {r.segment}'))} in "
        f"{html.escape(str(r.period))}: {formatting.kpi_value(r.value, r.kpi)} against a usual "
        f"{formatting.kpi_value(r.center, r.kpi)} (n = {int(r.n):,})</li>" for r in worse.itertuples(index=False))
    total = int((alerts["direction"] == "worse").sum())
    return (f"<h2>Alerts for the worse <small>({total} in all; <a href='01_current_state.html#Alerts'>every alert"
            f"</a>)</small></h2><ul>{items}</ul>")


def _quality(folder: Path) -> str:
    counts = _read(folder, "row_counts.csv")
    if counts.empty:
        return ""
    total, rejected = int(counts["input_rows"].sum()), int(counts["rejected"].sum())
    return (f"<h2>Data</h2><p class='note'>{total:,} input rows in {len(counts)} "
            f"table{'' if len(counts) == 1 else 's'}; {rejected:,} "
            f"({rejected / max(total, 1):.2%}) set aside, each with its reason in rejects.csv.</p>")
