"""Pictures of gapkit's tables: one seaborn theme, titles that state the finding, CIs drawn.

Plot functions take the tidy tables the analysis functions return, draw on ``ax`` (or the
current Axes), and return the Axes; they never call ``show`` or ``savefig``.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from gapkit.contract.catalog import KPIS
from gapkit.report.formatting import label as label_text

#: A monthly value resting on fewer units than this is flagged in a chart's title.
SMALL_N = 30

STATUS_COLORS = {"shortfall": "#c0392b", "not_significant": "#e6a23c", "met": "#2e8b57",
                 "insufficient_data": "#9e9e9e"}


def set_theme() -> None:
    """The one theme every gapkit figure uses."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind",
                  rc={"figure.figsize": (9, 4.5), "axes.titlesize": 12, "axes.titleweight": "bold",
                      "figure.dpi": 100})


def _fmt(value: float, kpi: str) -> str:
    if not np.isfinite(value):
        return "n/a"
    unit = KPIS[kpi].unit if kpi in KPIS else ""
    return f"{value:.0%}" if unit == "share" else f"{value:.3g}"


def _axis_label(kpi: str) -> str:
    spec = KPIS.get(kpi)
    return f"{spec.label} ({spec.unit})" if spec else kpi


def _errors(frame: pd.DataFrame) -> np.ndarray:
    low = (frame["value"] - frame["ci_low"]).clip(lower=0).fillna(0)
    high = (frame["ci_high"] - frame["value"]).clip(lower=0).fillna(0)
    return np.vstack([low.to_numpy(float), high.to_numpy(float)])


def scorecard(kpi_table: pd.DataFrame, targets: dict | None = None, ax=None):
    """Every share KPI overall on one 0-100% axis, with its 95% CI and target (if any).

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.plots.scorecard(gapkit.kpis(data, "2025-06-30"))
    <Axes...
    """
    ax = ax or plt.gca()
    rows = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")
                     & (kpi_table["unit"] == "share")].copy()
    rows["goodness"] = np.where(rows["better"] == "higher", rows["value"], 1 - rows["value"])
    rows = rows.sort_values("goodness").reset_index(drop=True)
    y = np.arange(len(rows))
    ax.errorbar(rows["value"], y, xerr=_errors(rows), fmt="o", color="#1f4e79", ecolor="#7f9cbf",
                capsize=3, label="current (95% CI)")
    for i, kpi in enumerate(rows["kpi"]):
        if targets and kpi in targets:
            ax.plot([targets[kpi]] * 2, [i - 0.35, i + 0.35], color="#c0392b", lw=2,
                    label="target" if i == 0 or "target" not in ax.get_legend_handles_labels()[1] else None)
    ax.set_yticks(y, [f"{KPIS[k].label if k in KPIS else label_text(k)} ({'higher' if b == 'higher' else 'lower'} "
                      f"is better)" for k, b in zip(rows["kpi"], rows["better"])])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of units (95% CI)")
    if len(rows):  # no "weakest" in the title: rates of different things are not on one scale of good
        ax.set_title("Share KPIs today, with 95% CIs" + (" and targets" if targets else ""))
    ax.legend(loc="lower right")
    return ax


def trend(kpi_table: pd.DataFrame, kpi: str, segment_by: str = "all", segment: str = "all",
          target: float | None = None, milestones: pd.DataFrame | None = None, ax=None):
    """Monthly values of one KPI with a 95% CI band, the target line and milestones.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.plots.trend(gapkit.kpis(data, "2025-06-30", period="M"), "csat", target=0.8)
    <Axes...
    """
    rows = kpi_table[(kpi_table["kpi"] == kpi) & (kpi_table["period"] != "all")
                     & (kpi_table["segment_by"] == segment_by) & (kpi_table["segment"] == segment)]
    if rows.empty:  # a typo or a missing breakdown draws no empty axis dated 1970
        _no_such_rows(kpi_table, kpi, segment_by, segment)
    ax = ax or plt.gca()
    rows = rows.sort_values("period")
    x = pd.PeriodIndex(rows["period"], freq="M").to_timestamp()
    flagged = rows["small_n"].astype(bool) if "small_n" in rows else False
    few = ((rows["n"] < SMALL_N) | flagged).to_numpy()
    ax.fill_between(x, rows["ci_low"], rows["ci_high"], alpha=0.25, color="#1f4e79", label="95% CI")
    # a month of a handful of units is drawn hollow and left out of the line: a 0% from n = 2 is not a fall
    ax.plot(x[~few], rows["value"][~few], marker="o", color="#1f4e79", label="monthly value")
    if few.any():
        ax.plot(x[few], rows["value"][few], marker="o", ls="none", markerfacecolor="white", color="#1f4e79",
                label=f"month with n < {SMALL_N}")
    if target is not None:
        ax.axhline(target, color="#c0392b", ls="--", lw=1.5, label=f"target {_fmt(target, kpi)}")
    if milestones is not None and len(milestones):
        mx = pd.PeriodIndex(milestones["month"], freq="M").to_timestamp()
        ax.plot(mx, milestones["expected"], color="#c0392b", ls=":", marker=".", label="milestones")
    who = "" if segment_by == "all" else f", {label_text(segment_by)} = {label_text(segment)}"
    label = KPIS[kpi].label if kpi in KPIS else kpi
    if len(rows):
        # the title states the latest month that can be read; a thinner month after it is named as such
        readable = rows[~few]
        last = readable.iloc[-1] if len(readable) else rows.iloc[-1]
        caveat = "" if len(readable) else " (too few to read)"
        later = rows[rows["period"] > last["period"]]
        tail = f"; {later['period'].iloc[-1]} has n={int(later['n'].iloc[-1])}" if len(later) else ""
        ax.set_title(f"{label}{who}\n{_fmt(last['value'], kpi)} in {last['period']} (n={int(last['n'])}){caveat}"
                     + (f", target {_fmt(target, kpi)}" if target is not None else "") + tail)
    ax.set_ylabel(_axis_label(kpi))
    ax.set_xlabel("month")
    month_axis(ax)
    if KPIS.get(kpi) and KPIS[kpi].unit == "share":
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    legend_below(ax)
    return ax


def _no_such_rows(kpi_table: pd.DataFrame, kpi: str, segment_by: str, segment: str) -> None:
    from gapkit.errors import ConfigError
    from gapkit.errors import did_you_mean as _did_you_mean

    present = sorted(kpi_table["kpi"].unique())
    if kpi not in present:
        raise ConfigError(f"no KPI {kpi!r} in this table{_did_you_mean(str(kpi), present)}; it holds "
                          f"{', '.join(present)}.")
    mine = kpi_table[(kpi_table["kpi"] == kpi) & (kpi_table["period"] != "all")]
    if mine.empty:
        raise ConfigError(f"{kpi}: the table has no monthly rows; compute it with gapkit.kpis(..., period='M').")
    columns = sorted(set(mine["segment_by"]))
    if segment_by not in columns:
        raise ConfigError(f"{kpi} is not broken down by {segment_by!r} here; by: {', '.join(columns)}.")
    segments = sorted(mine.loc[mine["segment_by"] == segment_by, "segment"].astype(str).unique())
    raise ConfigError(f"{kpi} has no segment {segment!r} of {segment_by}; segments: {', '.join(segments)}.")


def legend_below(ax, columns: int = 4) -> None:
    """The legend under the axes, never over a line wherever the line goes."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=columns, fontsize="small", frameon=False)


def overlapping_labels(figure) -> list[tuple[str, str]]:
    """Pairs of visible texts (tick labels, annotations, titles, legend entries) that overlap once
    drawn: the check the report's charts pass (tests/test_plots_story.py)."""
    from matplotlib.text import Text

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    undrawn = set()  # tick labels of ticks outside the view are kept by matplotlib but not drawn
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    undrawn.update({id(tick.label1), id(tick.label2)})
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()
             and t.get_alpha() != 0 and id(t) not in undrawn]
    boxes = []
    for text in texts:
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            boxes.append((text, box.shrunk(0.97, 0.9)))  # a hair of anti-aliasing is not an overlap
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if not box_a.overlaps(box_b):
                continue
            angle = a.get_rotation()
            if angle % 90 and abs(angle - b.get_rotation()) < 1e-6:
                # slanted labels: their upright boxes overlap while the lines of text, parallel
                # bands a font height wide, may not; compare the distance across the bands
                theta = np.deg2rad(angle)
                normal = np.array([-np.sin(theta), np.cos(theta)])
                gap = abs(float(np.dot(np.subtract(box_b.p0, box_a.p0), normal)))
                if gap >= 0.9 * a.get_fontsize() * figure.dpi / 72:
                    continue
            found.append((a.get_text(), b.get_text()))
    return found


def segment_comparison(kpi_table: pd.DataFrame, kpi: str, segment_by: str, ax=None):
    """One KPI across the segments of ``segment_by`` with 95% CIs, against the overall value.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.plots.segment_comparison(gapkit.kpis(data, "2025-06-30", by=["segment"]), "csat", "segment")
    <Axes...
    """
    ax = ax or plt.gca()
    rows = kpi_table[(kpi_table["kpi"] == kpi) & (kpi_table["period"] == "all")
                     & (kpi_table["segment_by"] == segment_by)].sort_values("value").reset_index(drop=True)
    overall = kpi_table[(kpi_table["kpi"] == kpi) & (kpi_table["period"] == "all")
                        & (kpi_table["segment_by"] == "all")]
    y = np.arange(len(rows))
    ax.errorbar(rows["value"], y, xerr=_errors(rows), fmt="o", capsize=3, color="#1f4e79")
    answered = _response_rates(kpi_table, kpi, segment_by)
    ax.set_yticks(y, [f"{label_text(s)} (n={n}{answered.get(s, '')})" for s, n in zip(rows["segment"], rows["n"])])
    if len(overall):
        ax.axvline(overall["value"].iloc[0], color="grey", ls="--", label="everyone")
        ax.legend(loc="best", fontsize="small")
    if len(rows) and len(overall):
        better = KPIS[kpi].better
        worst = rows.iloc[0] if better == "higher" else rows.iloc[-1]
        label = KPIS[kpi].label if kpi in KPIS else kpi
        ax.set_title(f"{label} by {label_text(segment_by)}\nweakest: {label_text(worst['segment'])} at {_fmt(worst['value'], kpi)} "
                     f"vs {_fmt(overall['value'].iloc[0], kpi)} overall")
    ax.set_xlabel(_axis_label(kpi) + ", 95% CI")
    return ax


def _response_rates(kpi_table: pd.DataFrame, kpi: str, segment_by: str) -> dict:
    """", 31% answered" by segment for a survey KPI: it speaks for those who answered, so how
    many did belongs beside it. Empty for other KPIs or without response rates."""
    if kpi not in KPIS or "surveys" not in KPIS[kpi].tables or kpi == "survey_response_rate":
        return {}
    rates = kpi_table[(kpi_table["kpi"] == "survey_response_rate") & (kpi_table["period"] == "all")
                      & (kpi_table["segment_by"] == segment_by) & (kpi_table["n"] > 0)]
    return {s: f", {v:.0%} answered" for s, v in zip(rates["segment"], rates["value"]) if np.isfinite(v)}


def gap_bars(gap_table: pd.DataFrame, ax=None):
    """Diverging bars of each goal's standardized gap (right = shortfall), with 95% CIs.

    The scale is the ranking's (``gap_std``, :func:`gapkit.gaps.standardized_gap`): one axis for
    shares, scores, NPS and durations, whatever the target, so a goal with a target of 0 has a bar.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> gap_result = gapkit.gaps.gaps(config.goals, gapkit.kpis(data, "2025-06-30", by=["segment"]))
    >>> gapkit.plots.gap_bars(gap_result.table)
    <Axes...
    """
    ax = ax or plt.gca()
    rows = gap_table.copy()
    sign = np.where(rows["kpi"].map(lambda k: KPIS[k].better) == "higher", 1, -1)
    # the gap's CI comes from the current value's CI, mirrored into "shortfall" units and put on
    # the standardized scale by the same factor as the gap itself
    factor = (rows["gap_std"] / rows["gap"]).where(rows["gap"].abs() > 1e-12)
    low = sign * (rows["target"] - np.where(sign > 0, rows["ci_high"], rows["ci_low"])) * factor
    high = sign * (rows["target"] - np.where(sign > 0, rows["ci_low"], rows["ci_high"])) * factor
    rows["std"], rows["low"], rows["high"] = rows["gap_std"], low, high
    rows = rows.sort_values("std").reset_index(drop=True)
    y = np.arange(len(rows))
    colors = rows["status"].map(STATUS_COLORS).fillna("#9e9e9e")
    ax.barh(y, rows["std"].fillna(0), color=colors)
    err = np.vstack([(rows["std"] - rows["low"]).clip(lower=0).fillna(0),
                     (rows["high"] - rows["std"]).clip(lower=0).fillna(0)])
    ax.errorbar(rows["std"].fillna(0), y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, [f"{label_text(g)} ({s})" for g, s in zip(rows["goal_id"], rows["status"].str.replace("_", " "))])
    ax.set_xlabel("standardized gap (right of 0 = short of target; 0.2 small, 0.5 medium, 0.8 large), 95% CI")
    short = (rows["status"] == "shortfall").sum()
    ax.set_title(f"{short} of {len(rows)} goals show a significant shortfall")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STATUS_COLORS.values()]
    ax.legend(handles, [s.replace("_", " ") for s in STATUS_COLORS], loc="best", fontsize="small")
    return ax


def month_axis(ax) -> None:
    """Month ticks that never run into each other (matplotlib's concise date format)."""
    months = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(months)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(months))


def panels(count: int, columns: int = 2, height: float = 4.0, width: float = 14.0):
    """A figure of ``count`` panels, ``columns`` to a row; returns (figure, the Axes to draw on)."""
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(width, height * rows), constrained_layout=True,
                                squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return figure, list(axes.flat[:count])


def spread_labels(ax, texts, pad: float = 2.0) -> None:
    """Move annotation labels up, in points, until no two overlap (deterministic, no solver).

    ``texts`` are ``ax.annotate(..., textcoords="offset points")`` labels. Labels are taken
    from the lowest up; each is raised just above every placed label it would overlap, and a
    thin leader line joins a label that moved to its point.
    """
    if len(texts) < 2:
        return
    figure = ax.figure
    renderer = figure.canvas.get_renderer()
    to_points = 72.0 / figure.dpi
    placed = []
    for text in sorted(texts, key=lambda t: t.get_window_extent(renderer).y0):
        box = text.get_window_extent(renderer)
        lift = 0.0
        moved = True
        while moved:
            moved = False
            for other in placed:
                shifted = box.translated(0, lift)
                if shifted.x0 < other.x1 and other.x0 < shifted.x1 and shifted.y0 < other.y1 + pad \
                        and other.y0 < shifted.y1 + pad:
                    lift = other.y1 + pad - box.y0
                    moved = True
        if lift:
            x, y = text.get_position()
            text.set_position((x, y + lift * to_points))
            text.set_annotation_clip(False)
            ax.annotate("", text.xy, xytext=(x, y + lift * to_points), textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "color": "#9e9e9e", "lw": 0.6})
        placed.append(box.translated(0, lift))
