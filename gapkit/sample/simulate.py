"""The simulation: customers, order chains and every post-sale event, vectorized."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.sample import draws as D
from gapkit.sample import events as E
from gapkit.sample import parameters as P


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def _draw_customers(rng, n, start_s, end_s):
    days = np.arange(start_s // P.DAY * P.DAY, end_s + 1, P.DAY, dtype="int64")
    w = np.asarray(P.MONTH_WEIGHT)[D.month(days.astype(float)) - 1]
    day = days[rng.choice(days.size, size=n, p=w / w.sum())]
    first = (day + D.time_of_day(rng, n)).astype(float)
    first = np.minimum(first, end_s)
    seg = rng.choice(3, size=n, p=P.SEGMENT_SHARE)
    persona = rng.choice(3, size=n, p=P.PERSONA_SHARE)
    loyal = rng.random(n) < np.asarray(P.LOYALTY_BY_PERSONA)[persona]
    region = rng.choice(4, size=n, p=P.REGION_SHARE)
    treat = rng.random(n) < 0.5
    at_checkout = rng.random(n) < 0.6
    offset = np.where(at_checkout, rng.integers(60, 600, n),
                      np.ceil(rng.exponential(120 * P.DAY, n)))
    signup = first - offset
    return dict(seg=seg, persona=persona, loyal=loyal, region=region, treat=treat,
                first=first, signup=signup)


def _order_block(rng, t, seg, persona, loyal, end_s, fs_start):
    """Order-level outcomes for one generation of orders (all vectorized)."""
    n = t.size
    ch = rng.choice(4, size=n, p=P.ORDER_CHANNEL_SHARE)
    value = np.round(D.lognormal(rng, P.VALUE_MEDIAN, P.VALUE_SIGMA, n)
                     * np.asarray(P.VALUE_PERSONA_FACTOR)[persona], 2)
    lo = np.asarray([p[0] for p in P.PROMISE_DAYS])[ch]
    hi = np.asarray([p[1] for p in P.PROMISE_DAYS])[ch]
    pdays = rng.integers(lo, hi + 1)
    oday = np.floor(t / P.DAY) * P.DAY
    promised = oday + pdays * P.DAY
    cancelled = rng.random(n) < P.CANCEL_PROB
    month = D.month(t)
    p_late = P.LATE_PROB + P.LATE_MARKETPLACE * (ch == 3)
    for m, extra in P.LATE_MONTH.items():
        p_late = p_late + extra * (month == m)
    late = ~cancelled & (rng.random(n) < p_late)
    early = rng.choice(3, size=n, p=(0.45, 0.35, 0.20))
    dday = np.where(late, promised + rng.geometric(0.45, n) * P.DAY,
                    np.maximum(promised - early * P.DAY, oday + P.DAY))
    delivered = dday + 8 * P.HOUR + rng.integers(0, 12 * P.HOUR, n)
    delivered = np.where(cancelled, np.nan, delivered)
    returned = ~cancelled & (rng.random(n) < P.RETURN_PROB + P.RETURN_LATE * late)

    # organic follow-ups: is there one within 7 days of delivery? (details drawn later)
    cov = np.asarray([P.FOLLOWUP_COVERAGE_7D[s] for s in P.SEGMENTS])[seg]
    fu7 = ~cancelled & (rng.random(n) < cov)
    late_fu = ~cancelled & ~fu7 & (rng.random(n) < P.FOLLOWUP_LATE_PROB)
    lat7 = P.HOUR + (7 * P.DAY - P.HOUR - 60) * rng.beta(1.1, 3.5, n)
    lat_late = 7 * P.DAY + 60 + 7 * P.DAY * rng.beta(1.0, 2.0, n)
    fu_lat = np.where(fu7, lat7, np.where(late_fu, lat_late, np.nan))

    # tickets (at most one per order)
    p_t = (P.TICKET_PROB + P.TICKET_LATE * late + P.TICKET_CANCELLED * cancelled
           + P.TICKET_RETURNED * returned)
    has_t = rng.random(n) < p_t
    probs = np.tile([0.20, 0.40, 0.20, 0.20], (n, 1))
    probs[returned] = [0.0, 0.30, 0.0, 0.70]
    probs[late] = [0.70, 0.10, 0.05, 0.15]
    probs[cancelled] = [0.30, 0.0, 0.70, 0.0]
    cat = D.choice_rows(rng, probs)
    base_after = np.where(np.isnan(delivered), t + 2 * P.DAY, delivered)
    created = np.select(
        [cat == 0, cat == 2],
        [t + (0.5 * P.DAY + rng.random(n) * (pdays + 0.5) * P.DAY
              + late * rng.random(n) * 2 * P.DAY),
         t + D.lognormal(rng, P.DAY, 1.0, n)],
        base_after + D.lognormal(rng, 2 * P.DAY, 0.9, n))
    created = np.floor(created)
    fr_h = np.maximum(D.lognormal(rng, P.FIRST_RESPONSE_MEDIAN_H, P.FIRST_RESPONSE_SIGMA, n),
                      2 / 60)
    fr_h = fr_h * np.where(created >= fs_start, P.EFFECT["faster_support_factor"], 1.0)
    answered = rng.random(n) >= P.NEVER_ANSWERED
    first_resp = np.where(answered, created + np.ceil(fr_h * P.HOUR), np.nan)
    resolved_flag = answered & (rng.random(n) < P.RESOLVED_PROB)
    res_h = D.lognormal(rng, P.RESOLUTION_MEDIAN_H, P.RESOLUTION_SIGMA, n)
    resolved = np.where(resolved_flag, first_resp + np.ceil(res_h * P.HOUR), np.nan)
    with np.errstate(invalid="ignore"):
        slow_res = ~resolved_flag | ((resolved - created) > P.TICKET_BAD_RESOLUTION_H * P.HOUR)
    bad = has_t & (~answered | (fr_h > P.TICKET_BAD_RESPONSE_H) | slow_res)
    good = has_t & ~bad
    contacts = rng.geometric(np.where(bad, 0.5, 0.75))
    reopened = resolved_flag & (rng.random(n) < np.where(bad, 0.10, 0.04))
    t_ch = rng.choice(4, size=n, p=P.TICKET_CHANNEL_SHARE)
    return dict(ch=ch, value=value, promised=promised, delivered=delivered,
                cancelled=cancelled, returned=returned, late=late, fu7=fu7, fu_lat=fu_lat,
                has_t=has_t, t_cat=cat, t_created=created, t_first=first_resp,
                t_resolved=resolved, t_bad=bad, t_good=good, t_contacts=contacts,
                t_reopened=reopened, t_ch=t_ch)


def _repeat_prob(seg, persona, loyal, o, t, checkin_s):
    persona_eff = np.asarray([P.REPEAT["persona"][p] for p in P.PERSONAS])[persona]
    base = np.asarray([P.REPEAT["base"][s] for s in P.SEGMENTS])[seg]
    post = t >= checkin_s
    p = (base + persona_eff + P.REPEAT["loyalty_member"] * loyal
         + P.REPEAT["followup_7d"] * o["fu7"] + P.REPEAT["late_delivery"] * o["late"]
         + P.REPEAT["ticket_bad"] * o["t_bad"] + P.REPEAT["ticket_good"] * o["t_good"]
         + P.EFFECT["common_repeat"] * post + P.EFFECT["checkin_repeat"] * (post & (seg == 1)))
    return np.clip(p, 0.0, 1.0)


def _simulate_orders(rng, cust, end_s):
    """Simulate every customer's chain of orders, one generation (k-th order) at a time."""
    checkin_s, fs_s = D.epoch(P.CHECKIN_START), D.epoch(P.FASTER_SUPPORT_START)
    idx = np.arange(cust["first"].size)
    t = cust["first"].copy()
    parts = []
    k = 0
    while idx.size:
        seg, persona, loyal = cust["seg"][idx], cust["persona"][idx], cust["loyal"][idx]
        o = _order_block(rng, t, seg, persona, loyal, end_s, fs_s)
        o["cust"], o["t"], o["k"] = idx, t, np.full(idx.size, k, dtype="int16")
        p = _repeat_prob(seg, persona, loyal, o, t, checkin_s)
        r90 = rng.random(idx.size) < p
        later = ~r90 & (rng.random(idx.size) < P.LATER_RETURN_PROB)
        gap_days = np.where(r90, 1 + np.floor(88 * rng.beta(1.3, 2.0, idx.size)),
                            92 + np.floor(450 * rng.beta(1.2, 2.5, idx.size)))
        nxt = np.floor(t / P.DAY) * P.DAY + gap_days * P.DAY + D.time_of_day(rng, idx.size)
        o["p_repeat"] = p
        parts.append(o)
        cont = (r90 | later) & (nxt <= end_s)
        idx, t = idx[cont], nxt[cont]
        k += 1
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _select_customers(rng, counts, n_orders):
    """Pick whole customers (random order) so that their orders add up to n_orders."""
    perm = rng.permutation(counts.size)
    cs = np.cumsum(counts[perm])
    m = int(np.searchsorted(cs, n_orders, side="right"))
    rem = n_orders - (int(cs[m - 1]) if m else 0)
    rest = perm[m:]
    singles = rest[counts[rest] == 1][:rem]
    if singles.size < rem:
        return None
    return np.concatenate([perm[:m], singles])


# ----------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------
def _text_columns_as_str(tables: dict) -> dict:
    """Object columns as pandas' string dtype, as a CSV round trip gives them."""
    for df in tables.values():
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].astype("str")
    return tables


def _orders_and_customers(order_rows: dict, cust: dict, cust_ids, end_s) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders and customers tables from the simulated arrays (no random draws here)."""
    deliv = order_rows["delivered"]
    delivered_ok = deliv <= end_s
    status = np.where(order_rows["cancelled"], "cancelled",
                      np.where(~delivered_ok, "shipped",
                               np.where(order_rows["returned"] & (deliv + 7 * P.DAY <= end_s),
                                        "returned", "delivered")))
    orders = pd.DataFrame({
        "order_id": order_rows["order_id"],
        "customer_id": order_rows["customer_id"],
        "ordered_at": D.ts(order_rows["t"]),
        "order_value": order_rows["value"],
        "channel": np.asarray(P.ORDER_CHANNELS)[order_rows["ch"]],
        "promised_at": D.ts(np.where(order_rows["promised"] <= end_s, order_rows["promised"], np.nan)),
        "delivered_at": D.ts(np.where(delivered_ok, deliv, np.nan)),
        "status": status,
    })
    customers = pd.DataFrame({
        "customer_id": cust_ids,
        "segment": np.asarray(P.SEGMENTS)[cust["seg"]],
        "region": np.asarray(P.REGIONS)[cust["region"]],
        "persona": np.asarray(P.PERSONAS)[cust["persona"]],
        "loyalty_member": cust["loyal"],
        "signup_at": D.ts(np.floor(cust["signup"])),
        "variant": np.where(cust["treat"], "treatment", "control"),
    })
    return orders, customers


def generate(n_orders: int = 4000, seed: int = 7, start="2024-01-01", end="2025-06-30",
             bad_rows: bool = True) -> dict[str, pd.DataFrame]:
    """Generate the eight contract tables with planted, documented effects.

    Parameters
    ----------
    n_orders : int, default 4000
        Exact number of valid orders (1 .. 5,000,000); about 0.6 customers per order.
    seed : int, default 7
        Seed for :func:`numpy.random.default_rng`; the same seed gives equal frames.
    start, end : str or Timestamp
        First and last day of the data (UTC). No timestamp is after the end of ``end``:
        events that would happen later are NaT or absent.
    bad_rows : bool, default True
        Append the rule-breaking rows listed in ``T.GROUND_TRUTH["bad_rows"]``. Then
        ``orders.ordered_at`` is a text column (ISO 8601 with ``Z``) holding one
        ``"not-a-date"``; otherwise it is a UTC datetime column like all others.

    Returns
    -------
    dict of str to pandas.DataFrame
        Keys ``orders, customers, followups, tickets, surveys, referrals, interventions,
        costs``. Timestamps are ``datetime64[us, UTC]``.

    Examples
    --------
    >>> from gapkit.sample import generate
    >>> t = generate(n_orders=500, seed=1, bad_rows=False)
    >>> len(t["orders"]), t["orders"]["order_id"].is_unique
    (500, True)
    """
    n_orders = int(n_orders)
    if not 1 <= n_orders <= P.MAX_ORDERS:
        raise ValueError(f"n_orders must be within 1..{P.MAX_ORDERS}, got {n_orders}")
    start_s, end_s = D.bounds(start, end)
    if end_s <= start_s:
        raise ValueError("end must be on or after start")
    rng = np.random.default_rng(seed)

    n_cust = int(np.ceil(n_orders * 0.72)) + 20
    for _ in range(8):
        cust = _draw_customers(rng, n_cust, start_s, end_s)
        sim = _simulate_orders(rng, cust, end_s)
        counts = np.bincount(sim["cust"], minlength=n_cust)
        chosen = _select_customers(rng, counts, n_orders)
        if chosen is not None:
            break
        n_cust = int(n_cust * 1.3 * n_orders / max(int(counts.sum()), 1)) + 20
    else:  # pragma: no cover - would need a pathological date range
        raise RuntimeError("could not simulate enough orders")

    # keep the chosen customers; renumber customers by signup time, orders by time
    chosen = chosen[np.lexsort((chosen, cust["signup"][chosen]))]
    new_of_old = np.full(n_cust, -1, dtype="int64")
    new_of_old[chosen] = np.arange(chosen.size)
    cust = {k: v[chosen] for k, v in cust.items()}
    keep = new_of_old[sim["cust"]] >= 0
    order_rows = {k: v[keep] for k, v in sim.items()}
    order_rows["cust"] = new_of_old[order_rows["cust"]]
    order = np.lexsort((order_rows["cust"], order_rows["t"]))
    order_rows = {k: v[order] for k, v in order_rows.items()}
    del sim
    cust_ids = D.ids("C", chosen.size)
    order_rows["order_id"] = D.ids("O", n_orders)
    order_rows["customer_id"] = cust_ids[order_rows["cust"]]

    orders, customers = _orders_and_customers(order_rows, cust, cust_ids, end_s)
    followups = E.followups(rng, order_rows, cust, end_s)
    tickets, t_rows = E.tickets(order_rows, end_s)
    surveys = E.surveys(rng, order_rows, cust, t_rows, tickets["ticket_id"].to_numpy(), end_s)
    referrals = E.referrals(rng, order_rows, cust, cust_ids, end_s)
    interventions, costs = E.interventions_and_costs(start_s, end_s, n_orders / 4000)
    tables = {"orders": orders, "customers": customers, "followups": followups,
              "tickets": tickets, "surveys": surveys, "referrals": referrals,
              "interventions": interventions, "costs": costs}
    if bad_rows:
        tables = E.append_bad_rows(tables, start_s, end_s)
    return _text_columns_as_str(tables)
