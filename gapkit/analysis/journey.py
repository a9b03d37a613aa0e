"""The post-sale journey map, built from the event tables.

Unit: an order. Cohort: orders placed at least ``repeat_days`` (default 90) before the end of
the ``as_of`` day, so every stage had the whole journey window to happen (censoring); an event
counts for a stage when it falls within ``repeat_days`` after the order and by ``as_of``.

Stages in time order: order -> delivery -> each follow-up touchpoint in the data (sorted by
median days from the order) -> support_ticket -> survey (answered) -> review (an answered
survey after a review_request follow-up; only when review_request exists) -> repeat_purchase
(the customer's next order within the window).

Linking: tickets and surveys without order_id go to the customer's latest order at or before
them (surveys with a ticket_id first take that ticket's order).

Emotional state (VADER, English comments, :func:`gapkit.text.sentiment`): a comment on a
survey with a ticket_id belongs to support_ticket; else to review when a review_request was
sent for the order before the answer; else to the stage whose latest event for that order is
the closest at or before the survey was sent (the experience that triggered it).
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from gapkit.analysis._journey_events import DAY, KINDS, events_of, feelings_of, of_cohort, stage_order
from gapkit.analysis._sampling import stratified_sample
from gapkit.contract._parsing import sorted_rows
from gapkit.contract.catalog import CATALOG, FIRST_FOLLOWUP
from gapkit.errors import ConfigError, InputError
from gapkit.measure.definitions import Params
from gapkit.measure.engine import as_params, end_of_day, month_labels, segment_labels
from gapkit.measure.intervals import median_bound_ranks
from gapkit.report.results import Result

__all__ = ["KINDS", "KPI_STAGE", "JourneyResult", "journey"]

# Which stage a gap on a KPI points to (gaps.csv -> journey map): the catalog says, per KPI
KPI_STAGE = {k.id: k.stage for k in CATALOG if k.stage} | {"comment_sentiment": "survey"}
# Past this many orders the map's shares and medians are known to a fraction of a point, and
# measuring every order's events cost 25 s at 1.9M orders (issue 30)
MAX_ORDERS = 200_000
MIN_SENTIMENT_N = 10  # fewer comments than this cannot make a stage "the most negative"
COLUMNS = ["segment_by", "segment", "stage", "kind", "order", "n", "reached", "coverage", "coverage_ci_low",
           "coverage_ci_high", "median_days", "median_days_ci_low", "median_days_ci_high", "sentiment",
           "sentiment_ci_low", "sentiment_ci_high", "sentiment_n", "top_channel", "channel_mix"]


def journey(data: Mapping, as_of: str | date | datetime, by: str | Sequence[str] | None = None,
            params: Params | Mapping | None = None, max_orders: int | None = MAX_ORDERS,
            seed: int = 0) -> JourneyResult:
    """Coverage, latency, channels and emotional state of each post-sale stage.

    Parameters
    ----------
    data : ``gapkit.load(...)`` result or a mapping of table name to DataFrame (orders needed).
    as_of : report date; later events are ignored.
    by : segment column(s) (orders' own, else customers', e.g. "persona"); rows for everyone too.
    params : KPI windows; ``repeat_days`` is the journey window.
    max_orders, seed : with more cohort orders than ``max_orders``, the map is drawn from a
        seeded random sample of that many, each order month in its share; ``n``, coverage,
        timing and comment figures with their intervals are the sample's, and a note says so.
        None: every order.

    Returns
    -------
    JourneyResult; ``.table`` has one row per segment x stage (see ``COLUMNS``), ``.channels``
    the channel mix per stage.

    Examples
    --------
    >>> j = gapkit.journey.journey(gapkit.datasets.sample(), as_of="2025-06-30", by="persona")
    >>> j.plot(segment="new_explorer")
    <Axes...
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    return _drawn(_measure(data, as_of, as_params(params), max_orders, seed), data, by)


@dataclass(frozen=True)
class _Measured:
    """What a journey is drawn from, whatever the segments: the cohort, each order's first event
    per stage, the comments' stages and the stage order."""

    cohort: pd.DataFrame
    first: pd.DataFrame
    feelings: pd.DataFrame
    stages: pd.DataFrame
    as_of: str
    window_days: float
    notes: tuple[str, ...]
    sample_note: str = ""  # the sentence saying the cohort is a sample, or "" (every cohort order)


def _measure(data: Mapping, as_of, p: Params, max_orders: int | None = None, seed: int = 0) -> _Measured:
    eod = pd.Timestamp(end_of_day(as_of))
    if "orders" not in data:
        raise InputError(f"journey needs an orders table; present: {sorted(data)}")
    orders = data["orders"].loc[lambda o: o["ordered_at"] <= eod]
    window = p.repeat_days * DAY
    cohort = orders.loc[orders["ordered_at"] <= eod - window]
    if cohort.empty:
        raise InputError(f"orders: no order placed {p.repeat_days:g} days (repeat_days) before as_of={as_of}; "
                         "pick a later as_of or a shorter repeat_days")
    sampled: list[str] = []
    if max_orders is not None and len(cohort) > max_orders:
        months = cohort.assign(_month=month_labels(cohort["ordered_at"]))
        cohort = stratified_sample(months, ["_month"], max_orders, seed, sampled).drop(columns="_month")
        sampled = [f"drawn from a random sample of {len(cohort):,} of the {len(months):,} cohort orders (seed {seed}; "
                   f"each order month in its share): n, coverage, timing and comment figures are the sample's"]
    tables, orders = of_cohort(data, orders, cohort) if sampled else (data, orders)
    events, answered = events_of(tables, orders, cohort, eod, window)
    first = sorted_rows(events, ["at", "stage"]).drop_duplicates(["order_id", "stage"])
    stages = stage_order(first, data)
    notes = (f"cohort: {len(cohort)} orders placed by {(eod - window).date()}; window {p.repeat_days:g} days",
             *sampled)
    return _Measured(cohort, first, feelings_of(answered, events, stages, cohort["order_id"]), stages,
                     str(pd.Timestamp(as_of).date()),
                     float(p.repeat_days), notes, sample_note="".join(sampled))


def _drawn(measured: _Measured, data: Mapping, by: list[str], everyone: bool = True) -> JourneyResult:
    labels = _segment_labels(measured.cohort, data, by)
    rows, mixes = [], []
    for segment_by in (["all"] if everyone else []) + by:
        table, mix = _summarise(labels[["order_id", segment_by]].rename(columns={segment_by: "segment"}),
                                measured.first, measured.feelings, measured.stages)
        rows.append(table.assign(segment_by=segment_by))
        mixes.append(mix.assign(segment_by=segment_by))
    table = pd.concat(rows, ignore_index=True)[COLUMNS]
    channels = pd.concat(mixes, ignore_index=True)[["segment_by", "segment", "stage", "channel", "n", "share"]]
    return JourneyResult(table, channels, measured.as_of, measured.window_days, measured.notes, measured)


def _segment_labels(cohort: pd.DataFrame, data: Mapping, by: list[str]) -> pd.DataFrame:
    labels = cohort[["order_id", "customer_id"] + [c for c in by if c in cohort]].copy()
    wanted = [c for c in by if c not in cohort]
    if wanted:
        customers = data["customers"] if "customers" in data else pd.DataFrame(columns=["customer_id"])
        unknown = [c for c in wanted if c not in customers]
        if unknown:
            raise ConfigError(f"segment column(s) {unknown} are in neither orders nor customers; "
                              f"customers has {list(customers.columns)}")
        labels = labels.merge(customers[["customer_id", *wanted]], on="customer_id", how="left")
    for column in by:
        labels[column] = segment_labels(labels[column])  # the rule gapkit.kpis uses
    labels["all"] = "all"
    labels["order_id"] = np.arange(len(labels))  # the order's row in the cohort, as the events name it
    return labels


def _summarise(labels, first, feelings, stages):
    n = labels.groupby("segment").size().rename("n")
    grid = pd.MultiIndex.from_product([n.index, stages["stage"]], names=["segment", "stage"])
    reached = first.merge(labels, on="order_id")
    stats = reached.groupby(["segment", "stage"])["days"].agg(_median_with_bounds).apply(pd.Series)
    stats = stats.reindex(grid) if len(stats) else pd.DataFrame(index=grid, columns=["reached", "median_days",
                                                                                     "median_days_ci_low",
                                                                                     "median_days_ci_high"])
    table = stats.reset_index().merge(n.reset_index(), on="segment").merge(stages, on="stage")
    table["reached"] = table["reached"].fillna(0).astype("int64")
    table["coverage"] = table["reached"] / table["n"]
    table["coverage_ci_low"], table["coverage_ci_high"] = proportion_confint(
        table["reached"], table["n"], alpha=0.05, method="wilson")
    feel = feelings.merge(labels, on="order_id").groupby(["segment", "stage"])["compound"]
    feel = feel.agg(_mean_with_ci).apply(pd.Series) if len(feelings) else pd.DataFrame(
        columns=["sentiment", "sentiment_ci_low", "sentiment_ci_high", "sentiment_n"])
    table = table.merge(feel.reset_index() if len(feel) else feel.assign(segment=[], stage=[]),
                        on=["segment", "stage"], how="left")
    table["sentiment_n"] = table["sentiment_n"].fillna(0).astype("int64")
    mix = reached.loc[reached["channel"].notna()].groupby(["segment", "stage", "channel"]).size().rename("n")
    mix = mix.reset_index()
    mix["share"] = mix["n"] / mix.groupby(["segment", "stage"])["n"].transform("sum")
    mix = mix.sort_values(["segment", "stage", "n", "channel"], ascending=[True, True, False, True])
    top = mix.groupby(["segment", "stage"]).agg(
        top_channel=("channel", "first"),
        channel_mix=("channel", lambda c: ", ".join(
            f"{ch} {s:.0%}" for ch, s in zip(c[:3], mix.loc[c.index[:3], "share"]))))
    table = table.merge(top.reset_index(), on=["segment", "stage"], how="left")
    table = table.sort_values(["segment", "order"]).reset_index(drop=True)
    return table, mix.reset_index(drop=True)


def _median_with_bounds(days: pd.Series) -> dict:
    values = np.sort(days.to_numpy(float))
    low_rank, high_rank = median_bound_ranks(values.size)
    return {"reached": values.size, "median_days": float(np.median(values)),
            "median_days_ci_low": values[low_rank - 1] if low_rank else np.nan,
            "median_days_ci_high": values[high_rank - 1] if high_rank else np.nan}


def _mean_with_ci(compound: pd.Series) -> dict:
    values = compound.to_numpy(float)
    low, high = DescrStatsW(values).tconfint_mean() if values.size > 1 else (np.nan, np.nan)
    low, high = max(low, -1.0), min(high, 1.0)  # the compound score lives in -1..1
    return {"sentiment": float(values.mean()), "sentiment_ci_low": low, "sentiment_ci_high": high,
            "sentiment_n": values.size}


@dataclass(frozen=True, eq=False, repr=False)
class JourneyResult(Result):
    """The journey map: ``.table`` (segment x stage), ``.channels`` (channel mix), ``.plot()``."""

    channels: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: str = ""
    window_days: float = float("nan")
    notes: tuple[str, ...] = ()
    measured: _Measured | None = None  # what the map is drawn from, to draw it by other segments cheaply
    title: ClassVar[str] = "Journey map"
    kinds: ClassVar[dict] = {"coverage": "share", "coverage_ci_low": "share", "coverage_ci_high": "share",
                             "sentiment": "number", "sentiment_ci_low": "number", "sentiment_ci_high": "number"}

    def summary(self) -> str:
        everyone = self.table[self.table["segment_by"] == "all"].sort_values("order")
        if everyone.empty:
            return f"No stage reached as of {self.as_of}."
        low = everyone.loc[everyone["coverage"].astype(float).idxmin()]
        return (f"As of {self.as_of}, {len(everyone)} stages after the sale; the fewest reach "
                f"{low['stage']} ({low['coverage']:.0%} of {int(low['n'])}).")

    def footnotes(self) -> tuple[str, ...]:
        return self.notes

    def sampled(self) -> str:
        """The sentence that says the map was drawn from a sample of orders, or "" (every order)."""
        return self.measured.sample_note if self.measured is not None else ""

    def regroup(self, data: Mapping, by: str | Sequence[str]) -> JourneyResult:
        """The same journey drawn by other segment columns of ``data``, without measuring the
        events again (the action plan draws it by each shortfall's own segment column)."""
        if self.measured is None:
            raise ConfigError("this journey map was not drawn by gapkit.journey.journey; call it again with by=")
        by = [by] if isinstance(by, str) else list(by)
        other = _drawn(self.measured, data, by, everyone=False)
        keep = self.table["segment_by"] == "all"
        return dataclasses.replace(
            self, table=pd.concat([self.table.loc[keep], other.table], ignore_index=True),
            channels=pd.concat([self.channels.loc[self.channels["segment_by"] == "all"], other.channels],
                               ignore_index=True))

    def rows(self, segment: str = "all", segment_by: str | None = None) -> pd.DataFrame:
        """The stages of one segment, in time order."""
        mask = self.table["segment"] == segment
        if segment_by is not None:
            mask &= self.table["segment_by"] == segment_by
        picked = self.table.loc[mask]
        if picked.empty:
            raise ConfigError(f"no segment {segment!r} in this journey; present: "
                              f"{sorted(self.table['segment'].unique())}")
        by = picked["segment_by"].iloc[0]
        return picked.loc[picked["segment_by"] == by].sort_values("order").reset_index(drop=True)

    def opportunities(self, segment: str = "all", segment_by: str | None = None,
                      gaps: pd.DataFrame | None = None) -> pd.DataFrame:
        """Stages holding the largest gaps, with the reason (columns stage, reason).

        With ``gaps`` (gaps.csv: kpi, segment_by, segment, status or gap; optionally a ``stage``
        column): every shortfall of this segment, placed by its ``stage`` or by ``KPI_STAGE``.
        Without: the stage with the most negative comments (>= 10 of them), when its 95% CI lies
        below the segment's mean over all stages; and, for a segment, the stage whose coverage
        falls furthest below everyone's with its whole 95% CI below (support_ticket reversed:
        more tickets is worse).
        """
        rows = self.rows(segment, segment_by)
        if gaps is not None:
            return _from_gaps(rows, gaps)
        found = []
        felt = rows.loc[rows["sentiment_n"] >= MIN_SENTIMENT_N]
        overall = np.average(rows["sentiment"].fillna(0), weights=rows["sentiment_n"]) if felt.size else np.nan
        if len(felt):
            worst = felt.loc[felt["sentiment"].idxmin()]
            if worst["sentiment_ci_high"] < overall:  # clearly below this segment's comments overall
                found.append((worst["stage"], f"comments {worst['sentiment']:+.2f} vs {overall:+.2f} "
                                              f"(n={worst['sentiment_n']})"))
        if segment != "all":
            everyone = rows["stage"].map(self.rows("all").set_index("stage")["coverage"])
            # a shortfall counts when the segment's whole 95% CI is on the bad side of everyone's value
            worse = np.where(rows["stage"] == "support_ticket", rows["coverage_ci_low"] > everyone,
                             rows["coverage_ci_high"] < everyone) & (rows["stage"] != "order")
            size = ((rows["coverage"] - everyone).abs()).where(worse)
            if size.notna().any():
                at = size.idxmax()
                found.append((rows.loc[at, "stage"],
                              f"{rows.loc[at, 'coverage']:.0%} vs {everyone[at]:.0%} of orders"))
        return pd.DataFrame(found, columns=["stage", "reason"]).drop_duplicates("stage")

    def plot(self, segment: str = "all", ax=None, gaps: pd.DataFrame | None = None,
             segment_by: str | None = None):
        """Coverage bars with Wilson CIs, sentiment markers (red..green), opportunities marked."""
        rows = self.rows(segment, segment_by)
        marked = self.opportunities(segment, segment_by, gaps)
        ax = ax or plt.gca()
        x = np.arange(len(rows))
        hot = rows["stage"].isin(marked["stage"]).to_numpy()
        err = np.vstack([(rows["coverage"] - rows["coverage_ci_low"]).clip(lower=0),
                         (rows["coverage_ci_high"] - rows["coverage"]).clip(lower=0)])
        ax.bar(x, rows["coverage"], yerr=err, capsize=3, color=np.where(hot, "#f4a261", "#a8c5da"),
               edgecolor=np.where(hot, "#c0392b", "#5b7f99"), linewidth=np.where(hot, 2.0, 0.8))
        for i in np.flatnonzero(hot):
            ax.annotate("opportunity", (x[i], rows["coverage_ci_high"].iloc[i]), xytext=(0, 4),
                        textcoords="offset points", ha="center", fontsize=8, color="#c0392b")
        ax.set_ylim(0, 1.15)
        ax.set_ylabel("share of orders reaching the stage")
        ax.set_xticks(x, [s.replace("_", " ") for s in rows["stage"]], rotation=30, ha="right")
        twin = ax.twinx()
        twin.grid(False)
        twin.axhline(0, color="grey", lw=0.6, ls=":")
        _sentiment_markers(twin, x, rows)
        twin.set_ylim(-1, 1)
        twin.set_ylabel("mean comment sentiment (VADER, -1..1)")
        if twin.get_legend_handles_labels()[0]:
            twin.legend(loc="upper right", fontsize=8, frameon=False)
        ax.set_title(_finding(marked, segment))
        return ax

    def plot_each(self, segment_by: str | None = None, gaps: pd.DataFrame | None = None) -> list:
        """One figure per segment of ``segment_by`` (default: the first ``by`` column); the Axes."""
        options = [b for b in self.table["segment_by"].unique() if b != "all"]
        segment_by = segment_by or (options[0] if options else "all")
        axes = []
        for segment in self.table.loc[self.table["segment_by"] == segment_by, "segment"].unique():
            _, ax = plt.subplots(figsize=(9, 4.5))
            axes.append(self.plot(segment, ax=ax, gaps=gaps, segment_by=segment_by))
        return axes


def _sentiment_markers(ax, x: np.ndarray, rows: pd.DataFrame) -> None:
    """Mean sentiment per stage, red..green; few comments give a wild mean, so those are faint."""
    many = (rows["sentiment_n"] >= MIN_SENTIMENT_N).to_numpy()
    few = rows["sentiment_n"].between(1, MIN_SENTIMENT_N - 1).to_numpy()
    f = rows.loc[many]
    if many.any():
        err = np.vstack([f["sentiment"] - f["sentiment_ci_low"], f["sentiment_ci_high"] - f["sentiment"]])
        ax.errorbar(x[many], f["sentiment"], yerr=np.nan_to_num(err), fmt="none", ecolor="#555555", capsize=2, lw=0.8)
    styles = ((many, 70, 1.0, f"n >= {MIN_SENTIMENT_N}"), (few, 25, 0.4, f"n < {MIN_SENTIMENT_N}"))
    for show, size, alpha, label in styles:
        if show.any():
            v = rows.loc[show, "sentiment"]
            ax.scatter(x[show], v, c=v, cmap="RdYlGn", vmin=-1, vmax=1, s=size, alpha=alpha, edgecolor="black",
                       zorder=3, label=f"comment sentiment ({label})")


def _from_gaps(rows: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    segment_by, segment = rows["segment_by"].iloc[0], rows["segment"].iloc[0]
    g = gaps.copy()
    for column, value in (("segment_by", segment_by), ("segment", segment)):
        if column in g:
            g = g.loc[g[column].fillna("all").astype("str") == value]
    g = g.loc[g["status"] == "shortfall"] if "status" in g else g.loc[g["gap"] > 0]
    first_touch = rows.loc[rows["kind"] == "followup", "stage"]
    found = []
    for row in g.itertuples(index=False):
        stage = getattr(row, "stage", None) or KPI_STAGE.get(row.kpi)
        if stage == FIRST_FOLLOWUP:
            stage = first_touch.iloc[0] if len(first_touch) else None
        if stage in set(rows["stage"]):
            found.append((stage, f"{row.kpi} shortfall"))
    return pd.DataFrame(found, columns=["stage", "reason"]).groupby("stage", sort=False, as_index=False).agg(
        reason=("reason", "; ".join)) if found else pd.DataFrame(columns=["stage", "reason"])


def _finding(marked: pd.DataFrame, segment: str) -> str:
    from gapkit.report.formatting import label

    who = "All customers" if segment == "all" else label(segment).replace("_", " ")
    if marked.empty:
        return f"{who}: no stage stands out (coverage bars: share of orders, 95% CI)"
    parts = [f"{s.replace('_', ' ')} ({r})" for s, r in zip(marked["stage"], marked["reason"])]
    return textwrap.fill(f"{who}: opportunity at " + "; ".join(parts), 90)
