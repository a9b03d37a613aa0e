"""Key drivers of an outcome: which experiences move it, and how much.

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

Importance-Performance analysis and SERVQUAL gaps are in :mod:`gapkit.ipa`.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm

from gapkit.analysis._sampling import key_order, of_orders, stratified_sample
from gapkit.analysis.importance import _importance, general_dominance, relative_weights  # noqa: F401
from gapkit.contract._parsing import isin, reindexed
from gapkit.contract._stored import column_names
from gapkit.contract.catalog import CATALOG, KPIS, MEAN, SHARE
from gapkit.errors import ConfigError, InputError, TooFewUnits, check_alpha
from gapkit.measure.definitions import Params
from gapkit.measure.engine import as_params, end_of_day, units
from gapkit.report.results import Result

__all__ = ["DRIVERS", "DriverResult", "general_dominance", "key_drivers", "order_drivers", "relative_weights",
           "separable"]

DAY, HOUR = pd.Timedelta(days=1), pd.Timedelta(hours=1)
SURVEY_KPIS = {k.id for k in CATALOG if "surveys" in k.tables}


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
                 "coefficient_ci_low", "coefficient_ci_high", "odds_ratio", "p_value", "n", "outcome", "r_squared",
                 "effect", "effect_ci_low", "effect_ci_high"]
#: Below this share of the outcome's variance (Cohen's "small" f-squared of 0.02) the drivers
#: together explain too little for their split of it to rank anything.
MIN_R_SQUARED = 0.02


def separable(table: pd.DataFrame) -> tuple[bool, str]:
    """Whether the driver model tells drivers apart, and why not when it does not.

    It does when the drivers explain at least ``MIN_R_SQUARED`` of the outcome (``r_squared``,
    when the table has it) and at least one driver's importance interval lies wholly above
    another's. Intervals on a line overlap pairwise exactly when the highest lower bound is
    below the lowest upper bound, so that one comparison decides.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.drivers.separable(gapkit.drivers.key_drivers(data, "2025-06-30").table)
    (False, "together the drivers explain 0.8% of the outcome's variance, too little to say which matters more")
    """
    if table is None or table.empty:
        return False, "there is no driver model"
    if len(table) < 2:
        return False, "the model has a single driver, so there is nothing to rank"
    r2 = pd.to_numeric(table["r_squared"], errors="coerce").iloc[0] if "r_squared" in table else np.nan
    if np.isfinite(r2) and r2 < MIN_R_SQUARED:
        return False, (f"together the drivers explain {r2:.1%} of the outcome's variance, too little to say "
                       "which matters more")
    if not {"importance_ci_low", "importance_ci_high"} <= set(table.columns):
        return False, "the importances carry no intervals"
    low, high = table["importance_ci_low"].astype(float), table["importance_ci_high"].astype(float)
    if not (low.notna().all() and high.notna().all()) or low.max() <= high.min():
        return False, "every driver's 95% importance interval overlaps every other's"
    top, bottom = table.loc[low.idxmax(), "driver"], table.loc[high.idxmin(), "driver"]
    return True, f"{top} matters more than {bottom} (95% intervals apart)"


def helpful_effects(table: pd.DataFrame, spread: np.ndarray) -> pd.DataFrame:
    """Each driver's conditional effect, standardized and turned so that positive means "better".

    ``effect`` is the model coefficient times the driver's standard deviation (the change in the
    outcome's log-odds, or in a mean outcome, for one standard deviation more of the
    experience, all else held fixed), signed by the KPI's direction: a KPI where lower is better
    (delivery days) helps when its driver's coefficient is negative. Its 95% interval is the
    coefficient's. Unlike a share of explained variance, it is zero for a driver with no effect
    of its own, however correlated with one that has.
    """
    turn = np.array([1.0 if KPIS[kpi].better == "higher" else -1.0 for kpi in table["kpi"]])
    ends = np.vstack([table["coefficient_ci_low"], table["coefficient_ci_high"]]).astype(float) * turn * spread
    return pd.DataFrame({"effect": table["coefficient"].to_numpy(float) * turn * spread,
                         "effect_ci_low": ends.min(axis=0), "effect_ci_high": ends.max(axis=0)}, index=table.index)


def _present(data: Mapping, need: str) -> bool:
    table, _, column = need.partition(".")
    return table in data and (not column or column in column_names(data, table))


def order_drivers(data: Mapping, as_of: str | date | datetime, params: Params | Mapping | None = None,
                  engine: str = "pandas") -> pd.DataFrame:
    """Every driver per order (NaN where unknown or not yet observable at ``as_of``).

    Follow-up drivers need the order delivered at least followup_days before as_of; ticket
    drivers count an order without a ticket as met (no support failure) and are unknown while
    a ticket is younger than its window; delivery drivers need delivered_at (and promised_at).
    The drivers that are a KPI's units are built on ``engine`` (as for :func:`gapkit.kpis`).

    Examples
    --------
    >>> x = gapkit.drivers.order_drivers(gapkit.datasets.sample(), "2025-06-30")
    >>> x.mean(numeric_only=True)
    followup_covered         0.756058
    ...
    """
    p = as_params(params)  # validates the keys
    eod = pd.Timestamp(end_of_day(as_of))
    orders = data["orders"].loc[lambda o: o["ordered_at"] <= eod].set_index("order_id")
    out = pd.DataFrame(index=orders.index)
    # drivers that are an order-level KPI unit come from the KPI engine, so a driver and its KPI
    # cannot disagree (censoring, whole-day promises, cancelled orders)
    for name, kpi in (("delivery_days", "delivery_days"), ("delivered_on_time", "on_time_delivery_rate"),
                      ("followup_covered", "followup_coverage")):
        if all(_present(data, need) for need in BY_NAME[name].needs):
            values = units(data, kpi, as_of, params=p, engine=engine, columns=["order_id"])
            values = values.drop_duplicates("order_id").set_index("order_id")["value"]
            out[name] = reindexed(values, out.index)
    if "delivered_at" in orders and "followups" in data:
        delivered = orders["delivered_at"].where(orders["delivered_at"] <= eod)
        out = out.join(_followup_drivers(data["followups"], delivered, eod, p))
    if _present(data, "tickets.order_id"):
        out = out.join(_ticket_drivers(data["tickets"], out.index, eod, p))
    if _present(data, "surveys.csat") and _present(data, "surveys.order_id"):
        s = data["surveys"].loc[lambda s: s["answered_at"].notna() & (s["answered_at"] <= eod) & s["csat"].notna()]
        first = s.sort_values("answered_at").drop_duplicates("order_id").set_index("order_id")["csat"]
        out["satisfied_csat"] = reindexed((first.astype(float) >= 4).astype(float), out.index)
    keep = [d.name for d in DRIVERS if d.name in out]
    return out[keep].astype(float)


def _followup_drivers(followups, delivered, eod, p) -> pd.DataFrame:
    window = p.followup_days * DAY
    sends = followups.loc[followups["sent_at"] <= eod].merge(delivered.rename("delivered_at"), left_on="order_id",
                                                             right_index=True)
    sends = sends.loc[sends["sent_at"] >= sends["delivered_at"]]
    lag = (sends["sent_at"] - sends["delivered_at"]) / DAY
    first = reindexed(lag.groupby(sends["order_id"]).min(), delivered.index)
    observable = delivered <= eod - window  # the window must have elapsed (censoring)
    out = pd.DataFrame(index=delivered.index)
    # per order, beyond the KPI units: latency counts an uncovered order as the whole window
    out["followup_latency_days"] = first.clip(upper=p.followup_days).fillna(p.followup_days).where(observable)
    if "personalized" in sends:
        inside = sends.loc[lag <= p.followup_days]
        personal = inside["personalized"].astype("boolean").fillna(False).groupby(inside["order_id"]).any()
        out["followup_personalized"] = reindexed(personal, delivered.index).fillna(0.0).where(observable)
    return out


def _ticket_drivers(tickets, index, eod, p) -> pd.DataFrame:
    t = tickets.loc[(tickets["created_at"] <= eod) & isin(tickets["order_id"], index.to_series())]
    out = pd.DataFrame(index=index)
    for name, column, window in (("first_response_in_sla", "first_response_at", p.sla_hours * HOUR),
                                 ("resolved_in_time", "resolved_at", p.resolution_days * DAY)):
        if column not in t:
            continue
        took = t[column].where(t[column] <= eod) - t["created_at"]
        met = (took <= window).astype(float).where(t["created_at"] <= eod - window)  # too young: unknown
        groups = met.groupby(t["order_id"])
        worst = groups.min().where(groups.count() == groups.size())  # any ticket unknown: unknown
        out[name] = reindexed(worst, index).where(isin(index.to_series(), t["order_id"]).to_numpy(), 1.0)
    return out


MIN_UNITS_PER_PARAMETER = 10
# Past this many units a driver's effect and importance are known to within a few points: at 1M
# orders every importance from all 473,424 complete units lay inside the intervals of a 200,000
# sample, and the sample took 11 s of CPU instead of 31.5 s (issue 30)
MAX_MODEL_UNITS = 200_000

METHODS = {"relative_weights": relative_weights, "dominance": general_dominance}


def key_drivers(data: Mapping, as_of: str | date | datetime, outcome: str = "repeat_purchase_rate",
                params: Params | Mapping | None = None, drivers: Sequence[str] | None = None,
                method: str = "relative_weights", n_boot: int = 200, seed: int = 0,
                max_missing: float = 0.5, controls: Sequence[str] = (), alpha: float = 0.05,
                max_units: int | None = MAX_MODEL_UNITS, engine: str = "pandas") -> DriverResult:
    """Which follow-up, delivery and support experiences drive an outcome KPI, and how much.

    Parameters
    ----------
    outcome : a share KPI (0/1 per unit: Logit) or a mean KPI (score: OLS) whose units carry
        an order_id, e.g. "repeat_purchase_rate", "referral_rate", "csat", "csat_mean".
    drivers : driver names (default: every driver in ``DRIVERS`` the tables allow; the csat
        driver only for outcomes not measured by surveys).
    method : "relative_weights" (Johnson) or "dominance" (general dominance, all subsets).
    alpha : the importance intervals are the bootstrap's 1 - alpha percentile intervals (0.05: 95%).
    n_boot, seed : bootstrap resamples of the units and the seed (fixed: same data, same CIs).
    max_missing : a default driver unknown for more than this share of units is left out
        (with a note) rather than dropping those units; named drivers are always kept.
    controls : columns of the units or of customers (e.g. ["segment", "persona"]) held fixed:
        dummies in the model, and partialled out of outcome and drivers before importance,
        so a driver does not get credit for who the customers are.
    max_units : with more complete units than this, the model, its tests and the bootstrap are
        fitted on a seeded random sample of this many, the same share of every outcome value x
        control group (proportional stratified sampling); ``n`` and every interval are the
        sample's, and a note says so. None: always every unit.
    engine : where the outcome's and the orders' units are built ("pandas", "duckdb", "polars",
        "spark"), as for :func:`gapkit.kpis`: the same units, so the same model.

    Examples
    --------
    >>> kd = gapkit.drivers.key_drivers(gapkit.datasets.sample(), as_of="2025-06-30")
    >>> kd.table[["driver", "importance", "importance_ci_low", "importance_ci_high", "odds_ratio"]]
                      driver  importance  ...  importance_ci_high  odds_ratio
    ...
    """
    if outcome not in KPIS or KPIS[outcome].kind not in (SHARE, MEAN):
        raise ConfigError(f"outcome must be a share or mean KPI, e.g. 'repeat_purchase_rate' or 'csat_mean', "
                          f"not {outcome!r}")
    if method not in METHODS:
        raise ConfigError(f"method must be one of {list(METHODS)}, not {method!r}")
    notes: list[str] = []
    usable = _available(data, outcome, drivers, notes)
    if not usable:
        raise InputError(f"the data holds none of the experiences the model relates to {outcome} (follow-ups "
                         "after delivery, delivery against the promise, tickets or a survey score tied to an order)")
    controls = [controls] if isinstance(controls, str) else list(controls)
    frame, usable = _model_frame(data, outcome, as_of, params, controls, usable,
                                 max_missing if drivers is None else 1.0, notes, (max_units, seed), engine)
    binary = KPIS[outcome].kind == SHARE
    fixed = (pd.get_dummies(frame[controls].astype("str"), drop_first=True, dtype=float) if controls
             else pd.DataFrame(index=frame.index))
    parameters = len(usable) + fixed.shape[1]
    if len(frame) < MIN_UNITS_PER_PARAMETER * parameters:
        raise TooFewUnits(f"{outcome}: {len(frame)} complete units for {len(usable)} drivers and {fixed.shape[1]} "
                         f"control dummies; a model needs at least {MIN_UNITS_PER_PARAMETER} units per parameter "
                         f"({MIN_UNITS_PER_PARAMETER * parameters}) (use a later as_of, fewer controls, or more data)")
    fit = _fit(frame[usable], fixed, frame["value"], binary, notes)
    try:
        weights, boot = _importance(frame[usable + ["value"]].to_numpy(float), fixed.to_numpy(float),
                                    METHODS[method], n_boot, seed)
    except np.linalg.LinAlgError as error:
        raise InputError(f"{outcome}: the importance of the drivers cannot be computed from these {len(frame)} "
                         f"units ({error}); a driver may not vary once the controls are held fixed") from None
    total = weights.sum()
    share = weights / total if total > 0 else np.full(len(usable), np.nan)
    tails = [50 * check_alpha(alpha), 100 - 50 * alpha]  # percentile bootstrap, 1 - alpha
    low, high = np.nanpercentile(boot, tails, axis=0) if len(boot) else (np.full(len(usable), np.nan),) * 2
    # weights are >= 0, so near zero the resampled ones sit above the estimate; the reported
    # interval is widened to hold the estimate rather than exclude it
    table = pd.DataFrame({"driver": usable, "kpi": [BY_NAME[d].kpi for d in usable], "importance": share,
                          "importance_ci_low": np.fmin(low, share), "importance_ci_high": np.fmax(high, share),
                          **fit, "n": len(frame), "outcome": outcome, "r_squared": float(total)})
    table = table.join(helpful_effects(table, frame[usable].std().to_numpy(float)))
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return DriverResult(table[TABLE_COLUMNS], outcome, "logit" if binary else "ols", method, float(total),
                        len(frame), tuple(controls), tuple(notes), frame.attrs.get("population", len(frame)))


def _model_frame(data: Mapping, outcome: str, as_of, params, controls: list[str], usable: list[str],
                 max_missing: float, notes: list, sample: tuple = (None, 0),
                 engine: str = "pandas") -> tuple[pd.DataFrame, list[str]]:
    """The outcome's units (a sample of them past ``sample``'s size) with their order's
    experiences and the controls, complete cases only."""
    u = units(data, outcome, as_of, by=controls, params=params, engine=engine, columns=["order_id"])
    absent = [c for c in controls if c not in u]
    if absent:
        raise ConfigError(f"control column(s) {absent} are in neither the {outcome} units nor customers")
    if "order_id" not in u:
        raise InputError(f"{outcome}: its units carry no order_id, so they cannot be tied to an order's experience")
    # in key order: the bootstrap resamples rows by position, so its intervals must not depend
    # on the order an engine hands the units back in (DuckDB's differs from pandas')
    u = u.iloc[key_order(u)].reset_index(drop=True)
    size, seed = sample
    picked = stratified_sample(u, ["value", *controls], size, seed, notes)
    tables = data if picked is u else of_orders(data, picked["order_id"])
    frame = picked[["order_id", "value", *controls]].merge(
        order_drivers(tables, as_of, params, engine), left_on="order_id", right_index=True, how="left")
    usable = _observed(frame, usable, max_missing, notes)
    frame = frame.dropna(subset=usable + ["value"])
    frame.attrs["population"] = len(u) if picked is not u else len(frame)
    if len(frame) and frame["value"].nunique() < 2:
        level = frame["value"].iloc[0]
        raise InputError(f"{outcome} is {level:g} for all {len(frame):,} units, so no experience can be related to "
                         f"it (a model of an outcome that never varies has nothing to explain)")
    if not usable or len(frame) < len(usable) + 10:
        raise InputError(f"{outcome}: {len(frame)} complete units for {len(usable)} drivers; too few to "
                         "fit (use a later as_of, fewer drivers, or more data)")
    notes.append(f"{len(picked) - len(frame)} of {len(picked)} {'sampled ' if picked is not u else ''}units dropped "
                 f"for a missing driver")
    return frame, usable


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


@dataclass(frozen=True, eq=False, repr=False)
class DriverResult(Result):
    """Key-driver analysis: ``.table`` (one row per driver), ``.plot()``, ``.summary()``."""

    outcome: str = ""
    model: str = ""
    method: str = ""
    r2: float = float("nan")
    n: int = 0
    controls: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    population: int = 0  # the units sampled from (``n`` when the model used them all)
    title: ClassVar[str] = "Key drivers"
    artifact: ClassVar[str] = "drivers.csv"
    kinds: ClassVar[dict] = {"importance": "share", "importance_ci_low": "share", "importance_ci_high": "share",
                             "p_value": "p", "r_squared": "number"}

    def summary(self) -> str:
        top = self.table.iloc[0]
        held = f", holding {', '.join(self.controls)} fixed" if self.controls else ""
        apart, why = separable(self.table)
        ranking = (f"top: {top['driver']} {top['importance']:.0%} "
                   f"[{top['importance_ci_low']:.0%}, {top['importance_ci_high']:.0%}]" if apart
                   else f"the drivers cannot be ranked: {why}")
        n = (f"n={self.n:,} from a seeded random sample of the {self.population:,} units" if self.population > self.n
             else f"n={self.n}")
        lines = [f"Key drivers of {self.outcome} ({self.model}, {n}{held}; importance = {self.method} "
                 f"share of R^2 {self.r2:.3f})", ranking]
        return "\n".join(lines)

    def footnotes(self) -> tuple[str, ...]:
        return self.notes

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
        apart, why = separable(self.table)
        if apart:
            ax.set_title(f"{top['driver'].replace('_', ' ')} drives {self.outcome.replace('_', ' ')} most\n"
                         f"({top['importance']:.0%} of explained variance, R\u00b2 {self.r2:.3f})")
        else:
            ax.set_title(textwrap.fill(f"The model cannot rank the drivers of {self.outcome.replace('_', ' ')}: "
                                       f"{why}", 70), fontsize="medium")
        return ax
