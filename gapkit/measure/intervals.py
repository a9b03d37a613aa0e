"""The 95% intervals of the KPI table, one method per kind of KPI (see the catalog's ci_method).

Wilson score for shares, Student t for means, a normal interval with the +1/0/-1 variance for
NPS and the exact distribution-free order-statistic interval for medians; intervals are kept
inside the KPI's scale, and rows below the catalog's MIN_N get none, below SMALL_N a flag.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPI, MEDIAN, MIN_N, NPS, SHARE, SMALL_N, bounds, clip


def median_bound_ranks(n: int, level: float = 0.95) -> tuple[int | None, int | None]:
    """Ranks (1-based) of the order statistics bounding a distribution-free CI for the median.

    The interval [x_(l), x_(n+1-l)] covers the median with probability 1 - 2 P(B <= l - 1),
    B ~ Binomial(n, 1/2); l is the largest rank for which that is at least ``level``.
    Returns (None, None) when even [x_(1), x_(n)] falls short (n < 6 at 95%).
    """
    from scipy import stats  # imported here: `import gapkit` stays quick

    alpha = 1 - level
    lower = int(stats.binom.ppf(alpha / 2, n, 0.5))  # smallest k with P(B <= k) >= alpha/2
    if stats.binom.cdf(lower, n, 0.5) > alpha / 2:
        lower -= 1
    if lower < 0:
        return None, None
    return lower + 1, n - lower


@lru_cache(maxsize=None)
def _bound_ranks(n: int, level: float = 0.95) -> tuple[int, int]:
    low, high = median_bound_ranks(n, level)
    return (low, high) if low else (0, 0)


def order_statistic_ranks(n: int, level: float = 0.95) -> tuple[int, ...]:
    """The 1-based ranks whose values :func:`median_and_bounds` reads for a group of ``n``: an
    engine that selects order statistics (instead of sorting) picks only these."""
    low, high = _bound_ranks(n, level)
    return (n + 1) // 2, n // 2 + 1, low or 1, high or 1


def median_and_bounds(value_at_rank, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact median and its distribution-free bounds (95% by default) for many groups at once.

    The one order-statistic routine of every engine: each engine only says how to read a
    group's value of a given rank. ``value_at_rank(ranks)`` takes an array of 1-based ranks,
    one per group, and returns those groups' values at them; ``n`` is each group's count of
    measured values. Returns (median, ci_low, ci_high) arrays; the bounds are NaN below the n
    that can bound a median at 95% (:func:`median_bound_ranks`).
    """
    n = np.asarray(n, dtype="int64")
    middle = (value_at_rank((n + 1) // 2) + value_at_rank(n // 2 + 1)) / 2
    low, high = np.array([_bound_ranks(int(k), level) for k in n], dtype="int64").reshape(-1, 2).T
    has_bounds = low > 0
    ci_low = np.where(has_bounds, value_at_rank(np.where(has_bounds, low, 1)), np.nan)
    ci_high = np.where(has_bounds, value_at_rank(np.where(has_bounds, high, 1)), np.nan)
    return middle, ci_low, ci_high


def _mean_interval(kpi: KPI, n, mean, sd, level: float):
    """Student t on the mean; for a score on a bounded scale (1-5, 1-7), on the sample with half a
    pseudo-response added at each end of the scale first.

    With 85% of customers giving 5, the plain t interval covered 0.886 / 0.912 / 0.933 at n = 30
    / 50 / 100 and 0.56 at n = 5: the scale's ceiling makes the spread look small. Half a
    pseudo-response at each end (as Agresti and Coull add successes and failures to a share, and
    the NPS interval half a response per group) gives 0.963 / 0.954 / 0.954, and 0.95-0.96 from
    n = 30 for symmetric, uniform and 95%-at-the-top scores (tests/test_intervals.py,
    docs/methods.md). The interval still holds the observed mean.
    """
    from scipy import stats

    lo, hi = bounds(kpi.unit)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        return mean - half, mean + half
    total, squares = n * mean, np.where(n > 1, (n - 1) * np.nan_to_num(sd) ** 2, 0.0) + n * mean**2
    m = n + 1.0  # half a pseudo-response at each end
    centre = (total + (lo + hi) / 2) / m
    spread = np.sqrt(np.maximum((squares + (lo**2 + hi**2) / 2 - m * centre**2) / (m - 1), 0) / m)
    half = stats.t.ppf(0.5 + level / 2, m - 1) * spread
    # a mean score cannot leave its scale: csat_mean stays in 1..5 even at n = 3
    return clip(np.fmin(centre - half, mean), kpi.unit), clip(np.fmax(centre + half, mean), kpi.unit)


def attach_intervals(kpi: KPI, table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Value, interval (95% by default) and small_n of each aggregated row, by the KPI's method.

    A median's bounds are picked by the engine at ``level`` (:func:`median_and_bounds`)."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint
    n = table["n"].to_numpy(dtype=float)
    mean = table["mean"].to_numpy(dtype=float)
    small = n < SMALL_N[kpi.kind]  # flagged: the interval's coverage may fall short
    none = n < MIN_N[kpi.kind]  # no honest interval at all
    with np.errstate(invalid="ignore", divide="ignore"):
        if kpi.kind == SHARE:
            successes = np.round(mean * n)
            low, high = proportion_confint(successes, np.maximum(n, 1), alpha=1 - level, method="wilson")
            value = mean
        elif kpi.kind == NPS:
            # the shares of promoters and detractors, back from the +1/0/-1 score's mean and sd
            # (mean = p_promoters - p_detractors; mean of squares = p_promoters + p_detractors)
            sd = table["sd"].to_numpy(dtype=float)
            squares = sd**2 * (n - 1) / n + mean**2
            promoters, detractors = (squares + mean) / 2, (squares - mean) / 2
            # adjusted Wald: half a pseudo-response in each of the three groups before the
            # multinomial variance. The plain Wald interval covered 0.90 at n = 30-50 with 85%
            # promoters and 5% detractors; this one 0.955-0.964 (at least 0.92 over a grid of
            # shares from n = 30; docs/methods.md, tests/test_intervals.py)
            p1, p3 = (promoters * n + 0.5) / (n + 1.5), (detractors * n + 0.5) / (n + 1.5)
            centre = p1 - p3
            half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(np.maximum(p1 + p3 - centre**2, 0) / n)
            value = 100 * mean
            low, high = np.fmin(100 * (centre - half), value), np.fmax(100 * (centre + half), value)
            low, high = np.clip(low, -100, 100), np.clip(high, -100, 100)
        elif kpi.kind == MEDIAN:
            value, low, high = mean, table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float)
        else:
            value, low, high = mean, *_mean_interval(kpi, n, mean, table["sd"].to_numpy(dtype=float), level)
    # float round-off (e.g. Wilson's bound at 0 successes) must not leave -2e-17 in a report
    low, high = np.where(np.abs(low) < 1e-12, 0.0, low), np.where(np.abs(high) < 1e-12, 0.0, high)
    low, high = np.where(none, np.nan, low), np.where(none, np.nan, high)
    out = table.drop(columns=[c for c in ("mean", "sd", "ci_low", "ci_high") if c in table.columns])
    out["n"] = table["n"].astype("int64")
    out["value"], out["ci_low"], out["ci_high"] = value, low, high
    out["small_n"] = small
    return out
