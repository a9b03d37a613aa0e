"""Small vectorized helpers of the simulation: draws, ids and timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.sample import parameters as P


# ----------------------------------------------------------------------------------------
# Small vectorized helpers
# ----------------------------------------------------------------------------------------
def choice_rows(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    """Draw one category per row of a (n, k) probability matrix."""
    cum = np.cumsum(prob, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(prob.shape[0])[:, None]
    return np.minimum((u > cum).sum(axis=1), prob.shape[1] - 1)


def month(t: np.ndarray) -> np.ndarray:
    """Calendar month (1..12) of epoch seconds."""
    m = np.floor(t).astype("int64").astype("datetime64[s]").astype("datetime64[M]")
    return m.astype("int64") % 12 + 1


def lognormal(rng, median, sigma, n):
    return median * np.exp(sigma * rng.standard_normal(n))


def ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    if n == 0:
        return np.array([], dtype=f"<U{width + len(prefix)}")
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def ts(x: np.ndarray) -> pd.Series:
    """Epoch seconds (float, NaN = missing) -> tz-aware UTC datetime Series (us)."""
    x = np.asarray(x, dtype="float64")
    out = np.full(x.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    ok = ~np.isnan(x)
    out[ok] = np.floor(x[ok]).astype("int64").astype("datetime64[s]")
    return pd.Series(out.astype("datetime64[us]")).dt.tz_localize("UTC")


def epoch(value) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 10**9)


def bounds(start, end) -> tuple[int, int]:
    s = pd.Timestamp(start)
    e = pd.Timestamp(end)
    s = (s.tz_localize("UTC") if s.tzinfo is None else s.tz_convert("UTC")).normalize()
    e = (e.tz_localize("UTC") if e.tzinfo is None else e.tz_convert("UTC")).normalize()
    return int(s.value // 10**9), int(e.value // 10**9) + P.DAY - 1


def time_of_day(rng, n):
    w = np.asarray(P.HOUR_WEIGHT, dtype=float)
    return rng.choice(24, size=n, p=w / w.sum()) * P.HOUR + rng.integers(0, P.HOUR, n)
