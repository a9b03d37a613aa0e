"""Key drivers of an outcome, Importance-Performance analysis, and SERVQUAL gaps.

Key drivers: one row per unit of the outcome KPI (``gapkit.units``: for repeat_purchase_rate,
each customer's first order whose ``repeat_days`` window has elapsed by ``as_of``; for
csat_mean, each answered survey), joined to the experience of that unit's order. The model is
a statsmodels Logit for a 0/1 outcome (share KPIs) and OLS for a score (mean KPIs); its
coefficients give direction and odds ratios. Importance is Johnson's relative weights (or
general dominance) of the R-squared of the linear (probability) model on the same drivers,
normalized to sum 1, with seeded bootstrap percentile 95% CIs. Both methods split R-squared
among correlated drivers instead of reading raw coefficients, so a driver that rides on a real
one (no follow-up means no personalized follow-up) shares its credit; ``controls`` partial
out who the customers are (segment, persona, period) so drivers do not take credit for them.
"""

from __future__ import annotations

import html
import itertools
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.weightstats import DescrStatsW

from gapkit.catalog import KPIS, MEAN, SHARE
from gapkit.definitions import Params
from gapkit.errors import ConfigError, InputError
from gapkit.kpis import _params, end_of_day, units

__all__ = ["DRIVERS", "DriverResult", "ImportancePerformance", "ServqualResult", "general_dominance",
           "importance_performance", "key_drivers", "order_drivers", "relative_weights", "servqual"]

log = logging.getLogger("gapkit")
DAY, HOUR = pd.Timedelta(days=1), pd.Timedelta(hours=1)
SURVEY_KPIS = {"csat", "csat_mean", "nps", "ces_mean", "survey_response_rate"}


@dataclass(frozen=True)
class Driver:
    """One experience driver: a column built per order, and the KPI it moves."""

    name: str
    kpi: str
    meaning: str
    needs: tuple[str, ...]  # "table" or "table.column"


DRIVERS: tuple[Driver, ...] = (
    Driver("followup_covered", "followup_coverage", "a follow-up within followup_days of delivery",
           ("followups", "orders.delivered_at")),
    Driver("followup_latency_days", "followup_latency_days",
           "days from delivery to the first follow-up, capped at followup_days", ("followups", "orders.delivered_at")),
    Driver("followup_personalized", "personalization_rate", "a personalized follow-up within followup_days",
           ("followups.personalized", "orders.delivered_at")),
    Driver("delivered_on_time", "on_time_delivery_rate", "delivered by the promised date",
           ("orders.delivered_at", "orders.promised_at")),
    Driver("delivery_days", "delivery_days", "days from order to delivery", ("orders.delivered_at",)),
    Driver("first_response_in_sla", "first_response_sla",
           "no ticket, or every ticket answered within sla_hours", ("tickets.order_id", "tickets.first_response_at")),
    Driver("resolved_in_time", "resolution_rate", "no ticket, or every ticket resolved within resolution_days",
           ("tickets.order_id", "tickets.resolved_at")),
    Driver("satisfied_csat", "csat", "the order's first answered survey has csat >= 4",
           ("surveys.order_id", "surveys.csat", "surveys.answered_at")),
)
BY_NAME = {d.name: d for d in DRIVERS}
TABLE_COLUMNS = ["driver", "kpi", "importance", "importance_ci_low", "importance_ci_high", "coefficient",
                 "coefficient_ci_low", "coefficient_ci_high", "odds_ratio", "p_value", "n"]


def _present(data: Mapping, need: str) -> bool:
    table, _, column = need.partition(".")
    return table in data and (not column or column in data[table].columns)


def order_drivers(data: Mapping, as_of: str | date | datetime, params: Params | Mapping | None = None) -> pd.DataFrame:
    """Every driver per order (NaN where unknown or not yet observable at ``as_of``).

    Follow-up drivers need the order delivered at least followup_days before as_of; ticket
    drivers count an order without a ticket as met (no support failure) and are unknown while
    a ticket is younger than its window; delivery drivers need delivered_at (and promised_at).

    Examples
    --------
    >>> x = gapkit.drivers.order_drivers(gapkit.load("data/sample"), "2025-06-30")
    >>> x.mean(numeric_only=True)
    """
    p = _params(params)  # validates the keys
    eod = pd.Timestamp(end_of_day(as_of))
    orders = data["orders"].loc[lambda o: o["ordered_at"] <= eod].set_index("order_id")
    out = pd.DataFrame(index=orders.index)
    if "delivered_at" in orders:
        delivered = orders["delivered_at"].where(orders["delivered_at"] <= eod)
        out["delivery_days"] = (delivered - orders["ordered_at"]) / DAY
        if "promised_at" in orders:
            late_by = delivered - orders["promised_at"]
            whole_days = orders["promised_at"].dropna().eq(orders["promised_at"].dropna().dt.normalize()).all()
            on_time = late_by < DAY if whole_days else late_by <= pd.Timedelta(0)  # as on_time_delivery_rate
            out["delivered_on_time"] = on_time.astype(float).where(late_by.notna())
        if "followups" in data:
            out = out.join(_followup_drivers(data["followups"], delivered, eod, p))
    if _present(data, "tickets.order_id"):
        out = out.join(_ticket_drivers(data["tickets"], out.index, eod, p))
    if _present(data, "surveys.csat") and _present(data, "surveys.order_id"):
        s = data["surveys"].loc[lambda s: s["answered_at"].notna() & (s["answered_at"] <= eod) & s["csat"].notna()]
        first = s.sort_values("answered_at").drop_duplicates("order_id").set_index("order_id")["csat"]
        out["satisfied_csat"] = (first.astype(float) >= 4).astype(float).reindex(out.index)
    keep = [d.name for d in DRIVERS if d.name in out]
    return out[keep].astype(float)


def _followup_drivers(followups, delivered, eod, p) -> pd.DataFrame:
    window = p.followup_days * DAY
    sends = followups.loc[followups["sent_at"] <= eod].merge(delivered.rename("delivered_at"), left_on="order_id",
                                                             right_index=True)
    sends = sends.loc[sends["sent_at"] >= sends["delivered_at"]]
    lag = (sends["sent_at"] - sends["delivered_at"]) / DAY
    first = lag.groupby(sends["order_id"]).min().reindex(delivered.index)
    observable = delivered <= eod - window  # the window must have elapsed (censoring)
    out = pd.DataFrame(index=delivered.index)
    out["followup_covered"] = (first <= p.followup_days).astype(float).where(observable)
    out["followup_latency_days"] = first.clip(upper=p.followup_days).fillna(p.followup_days).where(observable)
    if "personalized" in sends:
        inside = sends.loc[lag <= p.followup_days]
        personal = inside["personalized"].astype("boolean").fillna(False).groupby(inside["order_id"]).any()
        out["followup_personalized"] = personal.reindex(delivered.index).fillna(False).astype(float).where(observable)
    return out


def _ticket_drivers(tickets, index, eod, p) -> pd.DataFrame:
    t = tickets.loc[(tickets["created_at"] <= eod) & tickets["order_id"].isin(index)]
    out = pd.DataFrame(index=index)
    for name, column, window in (("first_response_in_sla", "first_response_at", p.sla_hours * HOUR),
                                 ("resolved_in_time", "resolved_at", p.resolution_days * DAY)):
        if column not in t:
            continue
        took = t[column].where(t[column] <= eod) - t["created_at"]
        met = (took <= window).astype(float).where(t["created_at"] <= eod - window)  # too young: unknown
        groups = met.groupby(t["order_id"])
        worst = groups.min().where(groups.count() == groups.size())  # any ticket unknown: unknown
        out[name] = worst.reindex(index).where(index.isin(t["order_id"]), 1.0)
    return out


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights from the correlation matrix of [drivers..., outcome].

    The raw weights sum to the R-squared of the linear model of the outcome on all drivers.

    Examples
    --------
    >>> corr = np.array([[1, 0, 0.5], [0, 1, 0.3], [0.5, 0.3, 1]])  # two drivers, then the outcome
    >>> gapkit.drivers.relative_weights(corr)  # uncorrelated drivers: their squared correlations
    """
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    values, vectors = np.linalg.eigh(rxx)
    lam = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T  # R_xx^(1/2)
    beta = np.linalg.lstsq(lam, rxy, rcond=None)[0]  # outcome on the orthogonal counterparts
    return (lam**2) @ (beta**2)


def _r2(corr: np.ndarray, subset: tuple[int, ...]) -> float:
    if not subset:
        return 0.0
    idx = list(subset)
    r = corr[idx, -1]
    return float(r @ np.linalg.lstsq(corr[np.ix_(idx, idx)], r, rcond=None)[0])


def general_dominance(corr: np.ndarray) -> np.ndarray:
    """General dominance weights (Azen & Budescu 2003): mean R-squared gain over all subsets.

    For each driver, the average over subset sizes of its mean gain in R-squared when added
    to subsets of the other drivers; they sum to the full model's R-squared. 2^p subsets.

    Examples
    --------
    >>> corr = np.array([[1, 0.6, 0.5], [0.6, 1, 0.4], [0.5, 0.4, 1]])  # two drivers, then the outcome
    >>> gapkit.drivers.general_dominance(corr)
    """
    p = corr.shape[0] - 1
    r2 = {s: _r2(corr, s) for k in range(p + 1) for s in itertools.combinations(range(p), k)}
    weights = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for k in range(p):
            gains = [r2[tuple(sorted(s + (j,)))] - r2[s] for s in itertools.combinations(others, k)]
            weights[j] += np.mean(gains) / p
    return weights


METHODS = {"relative_weights": relative_weights, "dominance": general_dominance}


def key_drivers(data: Mapping, as_of: str | date | datetime, outcome: str = "repeat_purchase_rate",
                params: Params | Mapping | None = None, drivers: Sequence[str] | None = None,
                method: str = "relative_weights", n_boot: int = 200, seed: int = 0,
                max_missing: float = 0.5, controls: Sequence[str] = ()) -> DriverResult:
    """Which follow-up, delivery and support experiences drive an outcome KPI, and how much.

    Parameters
    ----------
    outcome : a share KPI (0/1 per unit: Logit) or a mean KPI (score: OLS) whose units carry
        an order_id, e.g. "repeat_purchase_rate", "referral_rate", "csat", "csat_mean".
    drivers : driver names (default: every driver in ``DRIVERS`` the tables allow; the csat
        driver only for outcomes not measured by surveys).
    method : "relative_weights" (Johnson) or "dominance" (general dominance, all subsets).
    n_boot, seed : bootstrap resamples of the units and the seed (fixed: same data, same CIs).
    max_missing : a default driver unknown for more than this share of units is left out
        (with a note) rather than dropping those units; named drivers are always kept.
    controls : columns of the units or of customers (e.g. ["segment", "persona"]) held fixed:
        dummies in the model, and partialled out of outcome and drivers before importance,
        so a driver does not get credit for who the customers are.

    Examples
    --------
    >>> kd = gapkit.drivers.key_drivers(gapkit.load("data/sample"), as_of="2025-06-30")
    >>> kd.table[["driver", "importance", "importance_ci_low", "importance_ci_high", "odds_ratio"]]
    """
    if outcome not in KPIS or KPIS[outcome].kind not in (SHARE, MEAN):
        raise ConfigError(f"outcome must be a share or mean KPI, e.g. 'repeat_purchase_rate' or 'csat_mean', "
                          f"not {outcome!r}")
    if method not in METHODS:
        raise ConfigError(f"method must be one of {list(METHODS)}, not {method!r}")
    notes: list[str] = []
    usable = _available(data, outcome, drivers, notes)
    controls = [controls] if isinstance(controls, str) else list(controls)
    u = units(data, outcome, as_of, by=controls, params=params)
    absent = [c for c in controls if c not in u]
    if absent:
        raise ConfigError(f"control column(s) {absent} are in neither the {outcome} units nor customers")
    if "order_id" not in u:
        raise InputError(f"{outcome}: its units carry no order_id, so they cannot be tied to an order's experience")
    frame = u[["order_id", "value", *controls]].merge(
        order_drivers(data, as_of, params), left_on="order_id", right_index=True, how="left")
    usable = _observed(frame, usable, max_missing if drivers is None else 1.0, notes)
    frame = frame.dropna(subset=usable + ["value"])
    if not usable or len(frame) < len(usable) + 10:
        raise InputError(f"{outcome}: {len(frame)} complete units for {len(usable)} drivers; too few to "
                         "fit (use a later as_of, fewer drivers, or more data)")
    notes.append(f"{len(u) - len(frame)} of {len(u)} units dropped for a missing driver")
    binary = KPIS[outcome].kind == SHARE
    fixed = (pd.get_dummies(frame[controls].astype("str"), drop_first=True, dtype=float) if controls
             else pd.DataFrame(index=frame.index))
    fit = _fit(frame[usable], fixed, frame["value"], binary, notes)
    weights, boot = _importance(frame[usable + ["value"]].to_numpy(float), fixed.to_numpy(float),
                                METHODS[method], n_boot, seed)
    total = weights.sum()
    share = weights / total if total > 0 else np.full(len(usable), np.nan)
    low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0) if len(boot) else (np.full(len(usable), np.nan),) * 2
    # weights are >= 0, so near zero the resampled ones sit above the estimate; the reported
    # interval is widened to hold the estimate rather than exclude it
    table = pd.DataFrame({"driver": usable, "kpi": [BY_NAME[d].kpi for d in usable], "importance": share,
                          "importance_ci_low": np.fmin(low, share), "importance_ci_high": np.fmax(high, share),
                          **fit, "n": len(frame)})
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return DriverResult(table[TABLE_COLUMNS], outcome, "logit" if binary else "ols", method, float(total),
                        len(frame), tuple(controls), tuple(notes))


def _available(data: Mapping, outcome: str, drivers: Sequence[str] | None, notes: list) -> list[str]:
    """The drivers asked for (or the defaults) whose tables and columns are present."""
    unknown = [d for d in drivers or () if d not in BY_NAME]
    if unknown:
        raise ConfigError(f"unknown driver(s) {unknown}; known: {list(BY_NAME)}")
    # csat sits downstream of the other drivers; it is no driver of a survey outcome
    wanted = list(drivers) if drivers else [d.name for d in DRIVERS if not (
        d.kpi == outcome or (d.name == "satisfied_csat" and outcome in SURVEY_KPIS))]
    usable = []
    for name in wanted:
        lacking = [n for n in BY_NAME[name].needs if not _present(data, n)]
        if lacking:
            notes.append(f"{name} skipped: needs {', '.join(lacking)}")
        else:
            usable.append(name)
    return usable


def _observed(frame: pd.DataFrame, usable: list[str], max_missing: float, notes: list) -> list[str]:
    """Drop drivers unknown for too many units (rather than the units) or without variation."""
    kept = []
    for name in usable:
        missing = frame[name].isna().mean() if name in frame else 1.0
        if missing == 1.0 or missing > max_missing:
            notes.append(f"{name} skipped: unknown for {missing:.0%} of the {len(frame)} units")
        elif frame[name].dropna().nunique() < 2:
            notes.append(f"{name} skipped: the same value for every unit")
        else:
            kept.append(name)
    return kept


def _fit(x: pd.DataFrame, fixed: pd.DataFrame, y: pd.Series, binary: bool, notes: list) -> dict:
    design = sm.add_constant(pd.concat([x, fixed], axis=1), has_constant="add")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = (sm.Logit(y, design).fit(disp=0, maxiter=200) if binary else sm.OLS(y, design).fit())
    except Exception as error:  # perfect separation, singular design: keep the importance, explain
        notes.append(f"model could not be fitted ({type(error).__name__}); coefficients left empty")
        nan = np.full(x.shape[1], np.nan)
        return {"coefficient": nan, "coefficient_ci_low": nan, "coefficient_ci_high": nan,
                "odds_ratio": nan, "p_value": nan}
    ci = result.conf_int().loc[x.columns]
    coef = result.params[x.columns].to_numpy()
    return {"coefficient": coef, "coefficient_ci_low": ci[0].to_numpy(), "coefficient_ci_high": ci[1].to_numpy(),
            "odds_ratio": np.exp(coef) if binary else np.nan, "p_value": result.pvalues[x.columns].to_numpy()}


def _partial_corr(z: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Correlations of z's columns after removing what the controls explain (Frisch-Waugh)."""
    k = z.shape[1]
    both = np.c_[z, fixed]
    both = both - both.mean(axis=0)
    # einsum's own loop, not BLAS: a threaded BLAS on a busy machine made this 30x slower
    s = np.einsum("ij,ik->jk", both, both) / (len(both) - 1)
    if not fixed.shape[1]:
        scale = np.sqrt(np.diag(s))
        return s / np.outer(scale, scale)
    # residual covariance given the controls (Schur complement); pinv copes with a dummy
    # that happens to be constant in a bootstrap resample
    part = s[:k, :k] - s[:k, k:] @ np.linalg.pinv(s[k:, k:]) @ s[k:, :k]
    scale = np.sqrt(np.diag(part))
    return part / np.outer(scale, scale)


def _importance(z: np.ndarray, fixed: np.ndarray, weigh, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    weights = weigh(_partial_corr(z, fixed))
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(z), len(z))
        sample = z[pick]
        if np.any(sample.std(axis=0) == 0):  # a resample without variation says nothing
            continue
        w = weigh(_partial_corr(sample, fixed[pick]))
        boot.append(w / w.sum() if w.sum() > 0 else np.full(len(w), np.nan))
    return weights, np.array(boot)


@dataclass(frozen=True)
class DriverResult:
    """Key-driver analysis: ``.table`` (one row per driver), ``.plot()``, ``.summary()``."""

    table: pd.DataFrame
    outcome: str
    model: str
    method: str
    r2: float
    n: int
    controls: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        top = self.table.iloc[0]
        held = f", holding {', '.join(self.controls)} fixed" if self.controls else ""
        lines = [f"Key drivers of {self.outcome} ({self.model}, n={self.n}{held}; importance = {self.method} "
                 f"share of R^2 {self.r2:.3f})",
                 f"top: {top['driver']} {top['importance']:.0%} "
                 f"[{top['importance_ci_low']:.0%}, {top['importance_ci_high']:.0%}]", *self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary() + "\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.summary().splitlines()[0])}</b></p>" + self.table.to_html(index=False)

    def plot(self, ax=None):
        """Importance per driver with bootstrap 95% CIs, largest on top."""
        ax = ax or plt.gca()
        t = self.table.iloc[::-1]
        y = np.arange(len(t))
        err = np.vstack([(t["importance"] - t["importance_ci_low"]).clip(lower=0).fillna(0),
                         (t["importance_ci_high"] - t["importance"]).clip(lower=0).fillna(0)])
        ax.barh(y, t["importance"], xerr=err, capsize=3, color="#4c72b0")
        ax.set_yticks(y, [d.replace("_", " ") for d in t["driver"]])
        ax.set_xlabel(f"share of explained variance in {self.outcome} (0..1, 95% bootstrap CI)")
        top = self.table.iloc[0]
        ax.set_title(f"{top['driver'].replace('_', ' ')} drives {self.outcome.replace('_', ' ')} most "
                     f"({top['importance']:.0%} of explained variance, R\u00b2 {self.r2:.3f})")
        return ax


BOUNDED = {"share": (0.0, 1.0), "score 1-5": (1.0, 5.0), "score 1-7": (1.0, 7.0), "NPS points": (-100.0, 100.0),
           "VADER compound -1..1": (-1.0, 1.0)}
QUADRANTS = {(True, False): "Concentrate here", (True, True): "Keep up the good work",
             (False, False): "Low priority", (False, True): "Possible overkill"}


def importance_performance(kpi_table: pd.DataFrame, drivers_table, targets: Mapping[str, float] | None = None,
                           segment_by: str = "all", segment: str = "all", period: str = "all") -> ImportancePerformance:
    """Importance-Performance analysis: each driver's importance against its KPI's performance.

    Performance is 0..1, 1 = best, direction-aware: a bounded KPI (share, scores, NPS) is
    rescaled over its possible range; an unbounded one (hours, days) is the share of its
    target achieved when ``targets`` names it, else its place between the worst and best
    month in ``kpi_table``. Quadrants split at the mean importance and mean performance of
    the points drawn (Martilla & James).

    Examples
    --------
    >>> data = gapkit.load("data/sample"); kd = gapkit.drivers.key_drivers(data, "2025-06-30")
    >>> gapkit.drivers.importance_performance(gapkit.kpis(data, "2025-06-30", period="M"), kd).plot()
    """
    drivers = drivers_table.table if isinstance(drivers_table, DriverResult) else drivers_table
    needed = {"kpi", "period", "segment_by", "segment", "value", "ci_low", "ci_high", "unit", "better"}
    if needed - set(kpi_table.columns):
        raise InputError(f"kpi_table lacks {sorted(needed - set(kpi_table.columns))}; pass gapkit.kpis(...) output")
    now = kpi_table.loc[(kpi_table["period"] == period) & (kpi_table["segment_by"] == segment_by)
                        & (kpi_table["segment"] == segment)].set_index("kpi")
    rows, notes = [], []
    for d in drivers.itertuples(index=False):
        if d.kpi not in now.index:
            notes.append(f"{d.driver}: no {d.kpi} row in kpi_table")
            continue
        k = now.loc[d.kpi]
        history = kpi_table.loc[(kpi_table["kpi"] == d.kpi) & (kpi_table["period"] != "all")
                                & (kpi_table["segment_by"] == segment_by) & (kpi_table["segment"] == segment), "value"]
        scale, rule = _scale(k, (targets or {}).get(d.kpi), history)
        if scale is None:
            notes.append(f"{d.driver}: {rule}")
            continue
        perf = sorted(scale(np.array([k["value"], k["ci_low"], k["ci_high"]], dtype=float))[1:])
        rows.append({"driver": d.driver, "kpi": d.kpi, "importance": d.importance,
                     "importance_ci_low": d.importance_ci_low, "importance_ci_high": d.importance_ci_high,
                     "value": k["value"], "performance": float(scale(np.array([k["value"]]))[0]),
                     "performance_ci_low": perf[0], "performance_ci_high": perf[1], "performance_rule": rule,
                     "n": k["n"]})
    table = pd.DataFrame(rows)
    if not table.empty:
        hi_imp = table["importance"] >= table["importance"].mean()
        hi_perf = table["performance"] >= table["performance"].mean()
        table["quadrant"] = [QUADRANTS[(a, b)] for a, b in zip(hi_imp, hi_perf)]
    return ImportancePerformance(table, tuple(notes))


def _scale(k: pd.Series, target, history: pd.Series):
    """A monotone map of the KPI onto 0..1 (1 = best), and the rule used."""
    lower = k["better"] == "lower"
    if k["unit"] in BOUNDED:
        lo, hi = BOUNDED[k["unit"]]
        rule = f"rescaled over {lo:g}..{hi:g}"
    elif target is not None and target > 0:
        rule = f"share of target {target:g} achieved"
        return (lambda v: np.clip(target / v if lower else v / target, 0, 1)), rule
    elif history.notna().sum() >= 2 and history.max() > history.min():
        lo, hi = float(history.min()), float(history.max())
        rule = f"place between worst and best month ({lo:.3g}..{hi:.3g})"
    else:
        return None, "unbounded KPI without a target or monthly history; left out"
    return (lambda v: np.clip((hi - v) / (hi - lo) if lower else (v - lo) / (hi - lo), 0, 1)), rule


@dataclass(frozen=True)
class ImportancePerformance:
    """The IPA grid: ``.table`` (driver, importance, performance, quadrant...), ``.plot()``."""

    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "Importance-Performance\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        return "<p><b>Importance-Performance</b></p>" + self.table.to_html(index=False)

    def plot(self, ax=None):
        """Performance (x) against importance (y), CIs both ways, quadrants split at the means."""
        ax = ax or plt.gca()
        t = self.table
        if t.empty:
            ax.set_title("No driver with a KPI to place")
            return ax
        ax.errorbar(t["performance"], t["importance"], fmt="o", color="#1f4e79", ecolor="#9bb3cc", capsize=2,
                    xerr=np.vstack([t["performance"] - t["performance_ci_low"],
                                    t["performance_ci_high"] - t["performance"]]).clip(0),
                    yerr=np.vstack([t["importance"] - t["importance_ci_low"],
                                    t["importance_ci_high"] - t["importance"]]).clip(0))
        for i, row in enumerate(t.sort_values("performance").itertuples(index=False)):
            # alternate above/below so neighbours' labels do not print over each other
            ax.annotate(row.driver.replace("_", " "), (row.performance, row.importance),
                        xytext=(4, 4 if i % 2 == 0 else -11), textcoords="offset points", fontsize=8)
        mx, my = t["performance"].mean(), t["importance"].mean()
        ax.axvline(mx, color="grey", ls="--", lw=0.8)
        ax.axhline(my, color="grey", ls="--", lw=0.8)
        for (hi_imp, hi_perf), name in QUADRANTS.items():
            ax.text(0.98 if hi_perf else 0.02, 0.98 if hi_imp else 0.02, name, transform=ax.transAxes,
                    ha="right" if hi_perf else "left", va="top" if hi_imp else "bottom", fontsize=9, color="#7a7a7a")
        ax.set_xlim(-0.05, 1.05)
        ax.set_xlabel("performance (0..1, 1 = best; see performance_rule)")
        ax.set_ylabel("importance (share of explained variance)")
        focus = t.loc[t["quadrant"] == "Concentrate here", "driver"].str.replace("_", " ").tolist()
        ax.set_title("Concentrate here: " + ", ".join(focus) if focus else "No driver is both important and weak")
        return ax


@dataclass(frozen=True)
class ServqualResult:
    """SERVQUAL gaps (perception - expectation) by dimension: ``.table``, ``.plot()``."""

    table: pd.DataFrame

    def __repr__(self) -> str:
        return "SERVQUAL gaps\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        return "<p><b>SERVQUAL gaps</b></p>" + self.table.to_html(index=False)

    def plot(self, ax=None):
        """Gap per dimension with paired-t 95% CIs; below zero = expectations not met."""
        ax = ax or plt.gca()
        t = self.table
        y = np.arange(len(t))
        ax.barh(y, t["gap"], xerr=np.vstack([t["gap"] - t["gap_ci_low"], t["gap_ci_high"] - t["gap"]]).clip(0),
                color=np.where(t["gap"] < 0, "#c0392b", "#2e8b57"), capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, t["dimension"])
        ax.set_xlabel("perception - expectation (scale points, 95% CI)")
        worst = t.iloc[0]
        ax.set_title(f"Largest shortfall: {worst['dimension']} ({worst['gap']:+.2f} points)"
                     if worst["gap"] < 0 else "Perceptions meet expectations on every dimension")
        return ax


def servqual(surveys: pd.DataFrame, dimensions: Sequence[str] | None = None) -> ServqualResult | None:
    """Perception minus expectation per SERVQUAL dimension, with paired t 95% CIs.

    Looks for column pairs ``exp_<dimension>`` / ``perc_<dimension>`` (e.g. reliability,
    assurance, tangibles, empathy, responsiveness); returns None, with a logged warning, when
    there is none. Rows sort by gap, largest shortfall first.

    Examples
    --------
    >>> sq = gapkit.drivers.servqual(gapkit.load("data/sample")["surveys"])  # the sample has no item pairs
    >>> sq.table if sq else "no SERVQUAL items"
    """
    found = [c[4:] for c in surveys.columns if c.startswith("exp_") and f"perc_{c[4:]}" in surveys.columns]
    if dimensions is not None:
        lacking = [d for d in dimensions if d not in found]
        if lacking:
            raise InputError(f"surveys: no exp_/perc_ column pair for {lacking}; pairs present: {found}")
        found = list(dimensions)
    if not found:
        log.warning("servqual: surveys have no exp_<dimension>/perc_<dimension> column pairs; no SERVQUAL table")
        return None
    rows = []
    for dim in found:
        pair = surveys[[f"exp_{dim}", f"perc_{dim}"]].apply(pd.to_numeric, errors="coerce").dropna()
        diff = (pair[f"perc_{dim}"] - pair[f"exp_{dim}"]).to_numpy(float)
        n = diff.size
        stats_ = DescrStatsW(diff) if n > 1 else None
        low, high = stats_.tconfint_mean() if stats_ else (np.nan, np.nan)
        rows.append({"dimension": dim, "n": n, "expectation": pair[f"exp_{dim}"].mean(),
                     "perception": pair[f"perc_{dim}"].mean(), "gap": diff.mean() if n else np.nan,
                     "gap_ci_low": low, "gap_ci_high": high,
                     "p_value": stats_.ttest_mean(0)[1] if stats_ else np.nan, "small_n": n < 2})
    return ServqualResult(pd.DataFrame(rows).sort_values("gap", kind="stable").reset_index(drop=True))
