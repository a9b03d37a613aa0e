"""Seeded samples for the analyses that need unit rows (issue 30): past a size, a model is fitted
on a random sample that keeps each stratum's share, and says so."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gapkit.contract._parsing import isin
from gapkit.errors import ConfigError


def stratified_sample(frame: pd.DataFrame, strata: list[str], size: int | None, seed: int, notes: list) -> pd.DataFrame:
    """A seeded sample of ``size`` rows holding each stratum's share of ``frame`` (largest
    remainders), so the sample is a simple random one balanced on outcome and controls."""
    if size is None or len(frame) <= size:
        return frame
    if size < 1:
        raise ConfigError(f"max_units must be a positive number of units or None, not {size!r}")
    group = frame.groupby([frame[c].astype("str") for c in strata], sort=True).ngroup().to_numpy()
    counts = np.bincount(group)
    exact = counts * size / len(frame)
    quota = np.floor(exact).astype(int)
    rest = np.argsort(-(exact - quota), kind="stable")[: size - quota.sum()]
    quota[rest] += 1
    # each unit's draw goes by its place in key order, not in the frame, so the sample is the
    # same whichever engine built the units and in whatever order it handed them back
    draws = np.empty(len(frame))
    draws[key_order(frame)] = np.random.default_rng(seed).random(len(frame))
    rank = pd.Series(draws).groupby(group).rank(method="first")
    picked = frame.loc[rank.to_numpy() <= quota[group]]
    notes.append(f"fitted on a random sample of {len(picked):,} of the {len(frame):,} units (seed {seed}; each "
                 f"outcome value and control group in its share): n, tests and intervals are the sample's")
    picked.attrs["population"] = len(frame)
    return picked


def of_orders(data: Mapping, orders: pd.Series) -> dict:
    """The tables restricted to the rows of these orders: an order's experiences (delivery,
    follow-ups, tickets, its survey) are its own rows' alone, so they are measured on a sample's
    orders without reading every order's."""
    keep = {}
    for name, frame in data.items():
        if name in ("orders", "followups", "tickets", "surveys") and "order_id" in frame:
            frame = frame.loc[isin(frame["order_id"], orders).to_numpy()]
        keep[name] = frame
    return keep


def of_customers(frame: pd.DataFrame, size: int | None, seed: int) -> tuple[pd.DataFrame, str]:
    """A seeded random sample of the customers of ``frame``'s units, each with all its units,
    when ``frame`` has more than ``size`` units; else ``frame`` itself and "".

    Whole customers are kept, so models whose errors are clustered by customer stay right on
    the sample and their intervals are the sample's. Each customer is kept with the same
    probability (``size`` / units), so the sample holds about ``size`` units; units without a
    customer_id are sampled one by one. The sentence says what was drawn.
    """
    if size is None or len(frame) <= size:
        return frame, ""
    if size < 1:
        raise ConfigError(f"max_units must be a positive number of units or None, not {size!r}")
    share = size / len(frame)
    random = np.random.default_rng(seed)
    if "customer_id" in frame:
        # customers in sorted order: the draw does not depend on the order of the rows
        codes, customers = pd.factorize(frame["customer_id"], use_na_sentinel=False, sort=True)
        drawn = random.random(len(customers)) < share
        kept = drawn[codes]
        what = (f"{int(kept.sum()):,} units of a random sample of {int(drawn.sum()):,} of the "
                f"{len(customers):,} customers")
    else:
        kept = np.empty(len(frame), dtype=bool)
        kept[key_order(frame)] = random.random(len(frame)) < share
        what = f"a random sample of {int(kept.sum()):,} units"
    return frame.loc[kept], (f"estimated on {what} ({len(frame):,} units in all; seed {seed}): n and intervals are "
                             f"the sample's")


def key_order(frame: pd.DataFrame) -> np.ndarray:
    """Positions of ``frame``'s rows sorted by its first column (a unit table's key, as
    :func:`gapkit.units` returns them), ties in frame order."""
    if frame.shape[1] == 0:
        return np.arange(len(frame))
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.sort_indices(pa.array(frame.iloc[:, 0].astype("str"), from_pandas=True)).to_numpy()  # stable
