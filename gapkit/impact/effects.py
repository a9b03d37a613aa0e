"""Did a follow-up intervention work? One effect per intervention x KPI x method (``impact.csv``).

The method is chosen by what the data supports, and every estimate says why (the estimators
themselves are in :mod:`gapkit.estimators`):

- ``ab``: customers carry an assignment column (``variant``: treatment / control) for this
  intervention; the control arm is the counterfactual (two-sample test on the units anchored
  inside the test window).
- ``did``: the intervention names a treated segment (``segment_by`` / ``segment``); the other
  segments share the time trend, so a difference-in-differences removes it, with a placebo
  DiD on the pre-period as a pre-trend check.
- ``its``: no comparison group; an interrupted time series on the monthly KPI. The effect is
  the level change at the start; the slope change is in ``note``.
- ``pre_post``: the treated units after minus before, always shown as a labelled naive
  baseline: it ignores time trends.

Effects are on the KPI's scale (see :mod:`gapkit.estimators`): a share difference is a
probability difference (0.05 = 5 points), NPS is in NPS points, a mean in score units, and a
median KPI's effect is ``baseline median x (exp(b) - 1)`` from a model on log duration.

Which customers an assignment column belongs to is not part of the contract: when the
interventions table has a ``variant_column`` column it decides per intervention (blank = none);
otherwise an intervention without a segment is analysed as an A/B test whenever customers
carry a ``variant`` column.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.analysis._sampling import of_customers
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import KPIS, MEDIAN, clip
from gapkit.errors import ConfigError, InputError, check_alpha
from gapkit.impact.estimators import Estimate, ab_test, did, did_lines, its_with_lines, monthly_lines, pre_post, utc
from gapkit.measure.engine import end_of_day, segment_labels, unit_window
from gapkit.measure.engine import units as kpi_units
from gapkit.report import formatting
from gapkit.report.results import Result

IMPACT_COLUMNS = list(artifact_columns("impact.csv"))
EXTRA_COLUMNS = ["chosen", "why", "pretrend_p", "baseline", "power", "mde", "note", "pretrend_slope",
                 "pretrend_ci_low", "pretrend_ci_high", "trend_bias", "trend_robust_low", "trend_robust_high"]
SERIES_COLUMNS = ["intervention_id", "kpi", "method", "month", "line", "value", "ci_low", "ci_high", "n"]
WHY = {
    "ab": "randomized: the control arm is the counterfactual",
    "did": "comparison group: the untreated segments share the time trend, which DiD removes",
    "its": "no comparison group: the series' own pre-period trend is the counterfactual",
    "pre_post": "naive: ignores time trends",
}
_BLANK = {"", "nan", "none", "null", "<na>", "nat"}


@dataclass(frozen=True)
class Intervention:
    """One row of the interventions table: who was treated from when."""

    id: str
    start_at: pd.Timestamp
    end_at: pd.Timestamp | None = None
    segment_by: str | None = None
    segment: str | None = None
    variant_column: str | None = None

    @property
    def design(self) -> str:
        """The preferred method: ``ab``, ``did`` or ``its``."""
        return "ab" if self.variant_column else "did" if self.segment_by else "its"


def measure(
    data: Mapping,
    as_of,
    kpis: str | Sequence[str],
    interventions: Sequence | None = None,
    params=None,
    segment_col_default: str | None = None,
    window_months: int = 12,
    alpha: float = 0.05,
    max_units: int | None = 1_000_000,
    seed: int = 0,
    engine: str = "pandas",
) -> ImpactResult:
    """Estimate every intervention's effect on every KPI with every method the data supports.

    Parameters
    ----------
    data : ``gapkit.load(...)`` result or a mapping of table name to DataFrame.
    as_of : report date; later events are ignored, later-starting interventions skipped.
    kpis : KPI ids (config ``impact.kpis``).
    interventions : ids, dicts or :class:`Intervention` objects (default: every row of
        ``data["interventions"]`` that started by ``as_of``).
    params : KPI windows, as for :func:`gapkit.kpis`.
    segment_col_default : column to use when an intervention names a ``segment`` but no
        ``segment_by``.
    window_months : units anchored from this many months before the start are used.
    alpha : every interval is 1 - alpha (0.05: 95%); the table records it for the money.
    max_units : a KPI with more units is estimated on a seeded random sample of its customers
        (each with all its units, so customer-clustered errors stay right), about this many
        units; every row's ``note`` says so. None: every unit, however many.
    seed : the sample's seed.
    engine : where each KPI's units are built ("pandas", "duckdb", "polars", "spark"), as for
        :func:`gapkit.kpis`; the same units, so the same estimates, only sooner on large data.

    Examples
    --------
    >>> result = gapkit.impact.measure(gapkit.datasets.sample(), "2025-06-30", ["csat"])
    >>> result.chosen()
      intervention_id   kpi  ...  trend_robust_low  trend_robust_high
    ...
    """
    check_alpha(alpha)
    kpis = [kpis] if isinstance(kpis, str) else list(kpis)
    unknown = [k for k in kpis if k not in KPIS]
    if unknown:
        raise ConfigError(f"impact kpis: unknown KPI id(s) {unknown}; known: {list(KPIS)}")
    ivs = read_interventions(data, as_of, interventions, segment_col_default)
    rows, series = [], []
    for kpi in kpis:
        by = sorted({c for iv in ivs for c in (iv.segment_by, iv.variant_column) if c})
        try:
            frame = kpi_units(data, kpi, as_of, by=by, params=params, engine=engine, columns=["customer_id"])
        except ConfigError as err:
            rows += [_row(iv, kpi, Estimate(iv.design, note=str(err))) for iv in ivs]
            continue
        frame, sampled = of_customers(frame, max_units, seed)
        for iv in ivs:
            one_rows, one_series = _measure_one(frame, iv, kpi, window_months, unit_window(kpi, params), alpha,
                                                sampled)
            rows += one_rows
            series.append(one_series)
    table = pd.DataFrame(rows, columns=IMPACT_COLUMNS + EXTRA_COLUMNS)
    series = pd.concat(series, ignore_index=True) if series else pd.DataFrame(columns=SERIES_COLUMNS)
    table.attrs["alpha"] = alpha  # the intervals are 1 - alpha: the money reads its SEs from them
    return ImpactResult(table=table, series=series)


def read_interventions(
    data: Mapping, as_of, interventions: Sequence | None = None, segment_col_default: str | None = None
) -> list[Intervention]:
    """The interventions to measure, as :class:`Intervention` objects (started by ``as_of``).

    Examples
    --------
    >>> ivs = gapkit.impact.read_interventions(gapkit.datasets.sample(), "2025-06-30")
    >>> [iv.design for iv in ivs]
    ['did', 'ab', 'its']
    """
    table = data["interventions"] if "interventions" in data else None
    if interventions is None:
        if table is None:
            raise InputError("no interventions table: add interventions.csv or pass interventions=[...]")
        interventions = table.to_dict("records")
    customers = data["customers"] if "customers" in data else pd.DataFrame()
    out = []
    for item in interventions:
        if isinstance(item, str):
            if table is None or item not in set(table["intervention_id"]):
                raise ConfigError(f"intervention {item!r} is not in the interventions table; add a row for it")
            item = table[table["intervention_id"] == item].iloc[0].to_dict()
        if not isinstance(item, Intervention):
            item = _intervention(item, customers, table, segment_col_default)
        if item.start_at <= end_of_day(as_of):  # not started yet: nothing to measure
            out.append(item)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class ImpactResult(Result):
    """Effects of interventions on KPIs: ``table`` (impact.csv columns first) and monthly ``series``.

    Examples
    --------
    >>> result = gapkit.impact.measure(gapkit.datasets.sample(), "2025-06-30", ["csat"])
    >>> print(result.summary())
    No clear effect of checkin on csat: +6.2 points (95% CI -5.6 to +18.0; difference-in-differences, p = 0.3; -31...
    ...
    """

    series: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SERIES_COLUMNS))
    title: ClassVar[str] = "Impact of interventions"
    artifact: ClassVar[str] = "impact.csv"
    kinds: ClassVar[dict] = {"effect": "gap", "ci_low": "gap", "ci_high": "gap", "p_value": "p",
                             "relative_effect": "share", "n_treated": "count", "n_control": "count"}

    def chosen(self) -> pd.DataFrame:
        """The rows to report: one per intervention x KPI, the method the data supports best."""
        return self.table[self.table["chosen"]].reset_index(drop=True)

    def summary(self) -> str:
        """One plain sentence per chosen estimate."""
        return "\n".join(finding(row) for row in self.chosen().to_dict("records"))

    def plot(self, intervention_id: str | None = None, kpi: str | None = None, ax=None):
        """Monthly KPI of treated vs control (or the ITS counterfactual) with the counterfactual after start.

        Without ``intervention_id`` and ``kpi``: the first chosen estimate (the one a finding quotes).

        Examples
        --------
        >>> result = gapkit.impact.measure(gapkit.datasets.sample(), "2025-06-30", ["csat"])
        >>> result.plot("checkin", "csat")
        <Axes...
        """
        import matplotlib.pyplot as plt
        import seaborn as sns

        chosen = self.table[self.table["chosen"].astype(bool)]
        if intervention_id is None and len(chosen):
            intervention_id = chosen["intervention_id"].iloc[0]
        if kpi is None and len(chosen):
            kpi = chosen.loc[chosen["intervention_id"] == intervention_id, "kpi"].iloc[0]
        ax = ax or plt.gca()
        lines = self.series[(self.series["intervention_id"] == intervention_id) & (self.series["kpi"] == kpi)]
        row = self.table[(self.table["intervention_id"] == intervention_id) & (self.table["kpi"] == kpi)
                         & self.table["chosen"]]
        if lines.empty or row.empty:
            raise ConfigError(f"no chosen estimate for intervention {intervention_id!r} and kpi {kpi!r}; "
                              f"see result.table for what was measured")
        # a month with a handful of units (a windowed KPI's partial last month) would dominate the picture
        lines = lines[lines["n"] >= 0.1 * lines["n"].median()]
        colors = dict(zip(["treated", "control", "counterfactual"], sns.color_palette(n_colors=3)))
        for name, line in lines.groupby("line", sort=False):
            style = dict(color=colors.get(name, "grey"), label=name)
            if name == "counterfactual":
                ax.plot(line["month"], line["value"], linestyle="--", **style)
                continue
            ax.plot(line["month"], line["value"], marker="o", **style)
            ax.fill_between(line["month"], clip(line["ci_low"], kpi), clip(line["ci_high"], kpi), alpha=0.2,
                            color=style["color"])
        info = KPIS[kpi]
        counterfactual = lines.loc[lines["line"] == "counterfactual", "month"]
        if not counterfactual.empty:  # an A/B test has none: its control arm is the counterfactual
            ax.axvline(counterfactual.min(), color="grey", linewidth=0.8, label="start")
        ax.set_title(textwrap.fill(formatting.label(finding(row.iloc[0].to_dict())), 70), fontsize="medium")
        scale = "monthly geometric mean, " if info.kind == MEDIAN else ""
        ax.set_ylabel(f"{info.label} ({scale}{info.unit})")
        ax.set_xlabel("month (UTC)")
        from gapkit.report.plots import month_axis

        month_axis(ax)
        ax.legend(title="95% CI bands")
        return ax

    def _ordered(self) -> pd.DataFrame:
        # the chosen estimate of each intervention x KPI first
        return self.table.sort_values(["intervention_id", "kpi", "chosen"], ascending=[True, True, False],
                                      kind="stable").reset_index(drop=True)

    def _reasons(self) -> list[str]:
        # a KPI's sample is said once above the table, not under each of its rows
        return ["; ".join(str(t) for t in (row.why if row.chosen else "", _unsampled(row.note))
                          if isinstance(t, str) and t)
                for row in self._ordered().itertuples(index=False)]

    def samples(self) -> list[str]:
        """One sentence per KPI estimated on a sample of its customers (none below max_units)."""
        said = {}
        for row in self._ordered().itertuples(index=False):
            found = SAMPLED.search(row.note) if isinstance(row.note, str) else None
            if found:
                said.setdefault(row.kpi, found.group(1))
        return [f"{KPIS[kpi].label if kpi in KPIS else kpi}: {sentence}." for kpi, sentence in said.items()]

    def shown(self) -> pd.DataFrame:
        # the long reasons go under the table, numbered, where they read as sentences instead of
        # being squeezed into a column; "see" points at them
        table = self._ordered()
        marks, count = [], 0
        for reason in self._reasons():
            count += bool(reason)
            marks.append(str(count) if reason else "")
        return table[IMPACT_COLUMNS + ["chosen"]].assign(chosen=table["chosen"].map({True: "yes", False: ""}),
                                                          method=table["method"].map(method_name), see=marks)

    def footnotes(self) -> tuple[str, ...]:
        reasons = [r for r in self._reasons() if r]
        return (*self.samples(), *(f"{i}. {formatting.text(r)}" for i, r in enumerate(reasons, 1)))

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(formatting.text(r))}</li>" for r in self._reasons() if r)
        caption = html.escape(f"{self.title}: each effect with its 95% interval, by method")
        samples = "".join(f"<li>{html.escape(line)}</li>" for line in self.samples())
        return (f"<p><b>{self.title}</b> (chosen = the method to believe for that KPI)</p>"
                + (f"<p>Estimated on a sample of customers:</p><ul>{samples}</ul>" if samples else "")
                + self.styled().set_caption(caption).to_html()
                + (f"<p>Why each chosen method, and doubts (the <em>see</em> column):</p><ol>{notes}</ol>"
                   if notes else ""))


#: The sentence of :func:`gapkit.analysis._sampling.of_customers` inside a row's note.
SAMPLED = re.compile(r"(estimated on .*? n and intervals are the sample's)")


def _unsampled(note) -> str:
    return SAMPLED.sub("", note).strip("; ") if isinstance(note, str) else ""


#: What each method code in impact.csv is called in a report.
METHOD_NAMES = {"did": "difference-in-differences", "its": "interrupted time series", "ab": "A/B test",
                "naive": "before/after (naive)"}


def method_name(code) -> str:
    """A method code of impact.csv ("its") in words ("interrupted time series")."""
    return METHOD_NAMES.get(str(code), str(code))


def finding(row: Mapping) -> str:
    """A sentence stating one estimate: what changed, by how much, how sure, by which method.

    Examples
    --------
    >>> result = gapkit.impact.measure(gapkit.datasets.sample(), "2025-06-30", ["csat"])
    >>> gapkit.impact.finding(result.chosen().iloc[0])
    'No clear effect of checkin on csat: +6.2 points (95% CI -5.6 to +18.0; difference-in-differences, p = 0.3; -3...
    ...
    """
    name, kpi, method = row["intervention_id"], row["kpi"], row["method"]
    if not np.isfinite(row["effect"]):
        return f"{name} on {kpi}: not estimated ({row.get('note') or 'no data'})"
    number, unit = _formatter(kpi)
    ci = (f"95% CI {number(row['ci_low'])} to {number(row['ci_high'])}; {method_name(method)}, "
          f"{formatting.p_brief(row['p_value'])}")
    low, high = float(row.get("trend_robust_low", np.nan)), float(row.get("trend_robust_high", np.nan))
    if np.isfinite(low) and np.isfinite(high) and (high - low) > 1.05 * (row["ci_high"] - row["ci_low"]):
        # the groups' trends already differed before the start: what the effect could be if that went on
        ci += f"; {number(low)} to {number(high)} if the pre-period trends went on"
        if row["p_value"] < 0.05 and low <= 0 <= high:
            return (f"{name} may have moved {kpi} by {number(row['effect'])}{unit}, but not clearly once the "
                    f"pre-period trends are allowed for ({ci})")
    if row["p_value"] < 0.05:
        verb = "raised" if row["effect"] > 0 else "lowered"
        return f"{name} {verb} {kpi} by {number(abs(row['effect'])).lstrip('+')}{unit} ({ci})"
    return f"No clear effect of {name} on {kpi}: {number(row['effect'])}{unit} ({ci})"


def _formatter(kpi: str):
    """How to print an effect of this KPI, and the unit after it: share differences in
    percentage points, durations as the tables show them, unit included (minutes below an
    hour: "+7 minutes", not "+0.111 hours")."""
    unit = KPIS[kpi].unit
    if unit == "share":
        return (lambda v: f"{100 * v:+.1f}"), " points"
    if unit in ("hours", "days"):  # each bound with its own unit: "-3.13 hours to -42 minutes"
        return (lambda v: formatting.kpi_gap(v, kpi)), ""
    return (lambda v: f"{v:+.3g}"), f" {unit}"


def _measure_one(frame: pd.DataFrame, iv: Intervention, kpi: str, window_months: int,
                 unit_window: pd.Timedelta | None = None, alpha: float = 0.05, sampled: str = ""):
    kind = KPIS[kpi].kind
    frame = frame[frame["anchor"] >= iv.start_at - pd.DateOffset(months=window_months)]
    straddle = ""
    if unit_window is not None and unit_window > pd.Timedelta(0) and iv.design != "ab":
        # a unit anchored shortly before the start whose window runs past it is partly treated
        # (a first order in December, its repeat in January under the new follow-up): it would
        # put part of the effect into the "before" and bend the pre-trend, so it is left out
        partly = (frame["anchor"] < iv.start_at) & (frame["anchor"] + unit_window > iv.start_at)
        if partly.any():
            span = (f"{unit_window.days} days" if unit_window >= pd.Timedelta(days=1)
                    else f"{unit_window.total_seconds() / 3600:g} hours")
            straddle = (f"{int(partly.sum())} units anchored in the {span} before the start left out: their "
                        f"window runs past it, so they are partly treated")
            frame = frame[~partly]
    if iv.end_at is not None:
        frame = frame[frame["anchor"] <= iv.end_at]
    needed = iv.variant_column or iv.segment_by
    if needed and needed not in frame.columns:
        msg = f"column {needed!r} is not available for {kpi} (not in its table nor in customers)"
        return [_row(iv, kpi, Estimate(iv.design, note=msg))], None
    if iv.design == "ab":
        arm = frame[iv.variant_column].astype(str)
        inside = frame[frame["anchor"] >= iv.start_at].assign(arm=arm)
        best, treated = ab_test(inside, kind, alpha), frame[arm == "treatment"]
        lines = monthly_lines(inside, kind, {"treated": arm == "treatment", "control": arm == "control"})
    elif iv.design == "did":
        is_treated = segment_labels(frame[iv.segment_by]) == iv.segment
        best = did(frame.assign(treated=is_treated), iv.start_at, iv.end_at, kind, alpha=alpha)
        treated = frame[is_treated]
        lines = did_lines(frame, is_treated, kind, iv.start_at)
    else:
        best, lines = its_with_lines(frame, iv.start_at, iv.end_at, kind, alpha)
        treated = frame
    naive = pre_post(treated, iv.start_at, iv.end_at, kind, alpha)
    if straddle or sampled:
        best, naive = (replace(e, note="; ".join(n for n in (straddle, e.note, sampled) if n)) for e in (best, naive))
    rows = [_row(iv, kpi, best, chosen=np.isfinite(best.effect)), _row(iv, kpi, naive)]
    if lines is not None:
        lines = lines.assign(intervention_id=iv.id, kpi=kpi, method=iv.design)[SERIES_COLUMNS]
    return rows, lines


def _row(iv: Intervention, kpi: str, est: Estimate, chosen: bool = False) -> dict:
    why = WHY[est.method]
    if est.method == "did":
        why = f"comparison group: {iv.segment_by} != {iv.segment} shares the time trend, which DiD removes"
    if est.method == "ab":
        why = f"randomized by {iv.variant_column}: the control arm is the counterfactual"
    return {"intervention_id": iv.id, "kpi": kpi, **asdict(est), "chosen": bool(chosen), "why": why}


def _intervention(row: Mapping, customers: pd.DataFrame, table, segment_col_default) -> Intervention:
    iid = _text(row.get("intervention_id", row.get("id")))
    if iid is None or _text(row.get("start_at")) is None:
        raise ConfigError(f"intervention {row!r}: needs intervention_id and start_at")
    segment_by, segment = _text(row.get("segment_by")), _text(row.get("segment"))
    if segment is not None and segment_by is None:
        segment_by = segment_col_default
        if segment_by is None:
            raise ConfigError(f"intervention {iid}: segment {segment!r} given without segment_by; "
                              f"fill segment_by or pass segment_col_default")
    if segment_by is not None and segment is None:
        raise ConfigError(f"intervention {iid}: segment_by {segment_by!r} given without segment; fill segment")
    if "variant_column" in row or (table is not None and "variant_column" in table.columns):
        variant = _text(row.get("variant_column"))
    else:  # the contract has no column for it: fall back to customers.variant
        variant = "variant" if segment_by is None and "variant" in customers.columns else None
    end_at = _text(row.get("end_at"))
    end = utc(end_at) if end_at else None
    return Intervention(iid, utc(row["start_at"]), end, segment_by, segment, variant)


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return None if text.lower() in _BLANK else text


