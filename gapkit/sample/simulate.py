"""The simulation: customers, order chains and every post-sale event, vectorized."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.sample import comments as C
from gapkit.sample import parameters as P
from gapkit.sample import truth as T


# ----------------------------------------------------------------------------------------
# Small vectorized helpers
# ----------------------------------------------------------------------------------------
def _choice_rows(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    """Draw one category per row of a (n, k) probability matrix."""
    cum = np.cumsum(prob, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(prob.shape[0])[:, None]
    return np.minimum((u > cum).sum(axis=1), prob.shape[1] - 1)


def _month(t: np.ndarray) -> np.ndarray:
    """Calendar month (1..12) of epoch seconds."""
    m = np.floor(t).astype("int64").astype("datetime64[s]").astype("datetime64[M]")
    return m.astype("int64") % 12 + 1


def _lognormal(rng, median, sigma, n):
    return median * np.exp(sigma * rng.standard_normal(n))


def _ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    if n == 0:
        return np.array([], dtype=f"<U{width + len(prefix)}")
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _ts(x: np.ndarray) -> pd.Series:
    """Epoch seconds (float, NaN = missing) -> tz-aware UTC datetime Series (us)."""
    x = np.asarray(x, dtype="float64")
    out = np.full(x.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    ok = ~np.isnan(x)
    out[ok] = np.floor(x[ok]).astype("int64").astype("datetime64[s]")
    return pd.Series(out.astype("datetime64[us]")).dt.tz_localize("UTC")


def _epoch(value) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 10**9)


def _bounds(start, end) -> tuple[int, int]:
    s = pd.Timestamp(start)
    e = pd.Timestamp(end)
    s = (s.tz_localize("UTC") if s.tzinfo is None else s.tz_convert("UTC")).normalize()
    e = (e.tz_localize("UTC") if e.tzinfo is None else e.tz_convert("UTC")).normalize()
    return int(s.value // 10**9), int(e.value // 10**9) + P.DAY - 1


def _time_of_day(rng, n):
    w = np.asarray(P.HOUR_WEIGHT, dtype=float)
    return rng.choice(24, size=n, p=w / w.sum()) * P.HOUR + rng.integers(0, P.HOUR, n)


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def _draw_customers(rng, n, start_s, end_s):
    days = np.arange(start_s // P.DAY * P.DAY, end_s + 1, P.DAY, dtype="int64")
    w = np.asarray(P.MONTH_WEIGHT)[_month(days.astype(float)) - 1]
    day = days[rng.choice(days.size, size=n, p=w / w.sum())]
    first = (day + _time_of_day(rng, n)).astype(float)
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
    value = np.round(_lognormal(rng, P.VALUE_MEDIAN, P.VALUE_SIGMA, n)
                     * np.asarray(P.VALUE_PERSONA_FACTOR)[persona], 2)
    lo = np.asarray([p[0] for p in P.PROMISE_DAYS])[ch]
    hi = np.asarray([p[1] for p in P.PROMISE_DAYS])[ch]
    pdays = rng.integers(lo, hi + 1)
    oday = np.floor(t / P.DAY) * P.DAY
    promised = oday + pdays * P.DAY
    cancelled = rng.random(n) < P.CANCEL_PROB
    month = _month(t)
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
    cat = _choice_rows(rng, probs)
    base_after = np.where(np.isnan(delivered), t + 2 * P.DAY, delivered)
    created = np.select(
        [cat == 0, cat == 2],
        [t + (0.5 * P.DAY + rng.random(n) * (pdays + 0.5) * P.DAY
              + late * rng.random(n) * 2 * P.DAY),
         t + _lognormal(rng, P.DAY, 1.0, n)],
        base_after + _lognormal(rng, 2 * P.DAY, 0.9, n))
    created = np.floor(created)
    fr_h = np.maximum(_lognormal(rng, P.FIRST_RESPONSE_MEDIAN_H, P.FIRST_RESPONSE_SIGMA, n),
                      2 / 60)
    fr_h = fr_h * np.where(created >= fs_start, P.EFFECT["faster_support_factor"], 1.0)
    answered = rng.random(n) >= P.NEVER_ANSWERED
    first_resp = np.where(answered, created + np.ceil(fr_h * P.HOUR), np.nan)
    resolved_flag = answered & (rng.random(n) < P.RESOLVED_PROB)
    res_h = _lognormal(rng, P.RESOLUTION_MEDIAN_H, P.RESOLUTION_SIGMA, n)
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
    checkin_s, fs_s = _epoch(P.CHECKIN_START), _epoch(P.FASTER_SUPPORT_START)
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
        nxt = np.floor(t / P.DAY) * P.DAY + gap_days * P.DAY + _time_of_day(rng, idx.size)
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
# Table builders
# ----------------------------------------------------------------------------------------
def _followups(rng, O, cust, end_s):
    """Follow-up rows: organic (0..3 per delivered order) plus the planted interventions."""
    n = O["t"].size
    deliv = O["delivered"]
    has_first = ~np.isnan(O["fu_lat"])
    first_sent = deliv + O["fu_lat"]
    n_extra = np.where(has_first, rng.choice(3, size=n, p=P.FOLLOWUP_EXTRA), 0)
    gap1 = P.DAY + 9 * P.DAY * rng.beta(1.2, 2.0, n)
    gap2 = P.DAY + 9 * P.DAY * rng.beta(1.2, 2.0, n)
    e1 = first_sent + gap1
    e2 = e1 + gap2
    # touchpoints
    is_first = O["k"] == 0
    tp_first = np.where(is_first, rng.choice([0, 1, 3], size=n, p=(0.35, 0.30, 0.35)),
                        rng.choice([0, 1], size=n, p=(0.5, 0.5)))
    extra_tp = [4, 2, 5, 6]  # review_request, satisfaction_check, cross_sell, milestone
    seg = cust["seg"][O["cust"]]
    pers_p = np.asarray([P.PERSONALIZED_PROB[s] for s in P.SEGMENTS])[seg]

    rows = [  # (mask, sent, touchpoint)
        (has_first, first_sent, tp_first),
        (n_extra >= 1, e1, rng.choice(extra_tp, size=n, p=(0.35, 0.2, 0.3, 0.15))),
        (n_extra >= 2, e2, rng.choice(extra_tp, size=n, p=(0.35, 0.2, 0.3, 0.15))),
    ]
    o_idx, sent, tp, chan, pers = [], [], [], [], []
    for mask, s, tpv in rows:
        i = np.flatnonzero(mask)
        o_idx.append(i)
        sent.append(np.floor(s[i]))
        tp.append(tpv[i])
        chan.append(rng.choice(len(P.FOLLOWUP_CHANNELS), size=i.size, p=P.FOLLOWUP_CHANNEL_SHARE))
        pers.append(rng.random(i.size) < pers_p[i])
    # planted: check-in for segment B, delivered on/after P.CHECKIN_START
    ci = np.flatnonzero((seg == 1) & (deliv >= _epoch(P.CHECKIN_START)))
    o_idx.append(ci)
    sent.append(np.floor(deliv[ci] + 3 * P.DAY + rng.random(ci.size) * 2 * P.DAY))
    tp.append(np.full(ci.size, 2))
    chan.append(np.where(rng.random(ci.size) < 0.5, 2, 0))
    pers.append(np.ones(ci.size, dtype=bool))
    # planted: SMS thank-you for treatment customers' orders placed in the window
    sms_lo, sms_hi = _epoch(P.SMS_START), _epoch(P.SMS_END) + P.DAY - 1
    si = np.flatnonzero(cust["treat"][O["cust"]] & (O["t"] >= sms_lo) & (O["t"] <= sms_hi)
                        & ~np.isnan(deliv))
    o_idx.append(si)
    sent.append(np.floor(deliv[si] + P.HOUR + rng.random(si.size) * 5 * P.HOUR))
    tp.append(np.zeros(si.size, dtype=int))
    chan.append(np.ones(si.size, dtype=int))
    pers.append(np.zeros(si.size, dtype=bool))

    o_idx, sent = np.concatenate(o_idx), np.concatenate(sent)
    tp, chan, pers = np.concatenate(tp), np.concatenate(chan), np.concatenate(pers)
    keep = sent <= end_s
    o_idx, sent, tp, chan, pers = o_idx[keep], sent[keep], tp[keep], chan[keep], pers[keep]
    order = np.lexsort((o_idx, sent))
    o_idx, sent, tp, chan, pers = o_idx[order], sent[order], tp[order], chan[order], pers[order]
    touchpoints = np.array(["thank_you", "delivery_check", "satisfaction_check", "onboarding",
                            "review_request", "cross_sell", "milestone"])
    return pd.DataFrame({
        "followup_id": _ids("F", o_idx.size),
        "order_id": O["order_id"][o_idx],
        "customer_id": O["customer_id"][o_idx],
        "sent_at": _ts(sent),
        "touchpoint": touchpoints[tp],
        "channel": np.asarray(P.FOLLOWUP_CHANNELS)[chan],
        "personalized": pers,
    })


def _tickets(O, end_s):
    i = np.flatnonzero(O["has_t"] & (O["t_created"] <= end_s))
    created = O["t_created"][i]
    i = i[np.argsort(created, kind="stable")]
    created = O["t_created"][i]
    first = O["t_first"][i].copy()
    resolved = O["t_resolved"][i].copy()
    first[first > end_s] = np.nan
    resolved[~(resolved <= end_s)] = np.nan
    reopened = O["t_reopened"][i] & ~np.isnan(resolved)
    df = pd.DataFrame({
        "ticket_id": _ids("T", i.size),
        "customer_id": O["customer_id"][i],
        "created_at": _ts(created),
        "order_id": O["order_id"][i],
        "channel": np.asarray(P.TICKET_CHANNELS)[O["t_ch"][i]],
        "first_response_at": _ts(first),
        "resolved_at": _ts(resolved),
        "contacts": O["t_contacts"][i].astype("int64"),
        "reopened": reopened,
        "category": np.asarray(P.TICKET_CATEGORIES)[O["t_cat"][i]],
    })
    return df, i


def _surveys(rng, O, cust, t_rows, ticket_ids, end_s):
    n = O["t"].size
    deliv = O["delivered"]
    d_mask = ~np.isnan(deliv) & (rng.random(n) < P.SURVEY_AFTER_DELIVERY)
    d_idx = np.flatnonzero(d_mask)
    d_sent = np.floor(deliv[d_idx] + np.maximum(_lognormal(rng, 2 * P.DAY, 0.5, d_idx.size),
                                                2 * P.HOUR))
    res = O["t_resolved"][t_rows]
    t_mask = ~np.isnan(res) & (rng.random(t_rows.size) < P.SURVEY_AFTER_TICKET)
    tk = np.flatnonzero(t_mask)
    t_idx = t_rows[tk]
    t_sent = np.floor(res[tk] + P.HOUR + rng.random(tk.size) * 23 * P.HOUR)
    o_idx = np.concatenate([d_idx, t_idx])
    sent = np.concatenate([d_sent, t_sent])
    tick = np.concatenate([np.full(d_idx.size, -1), tk])
    keep = sent <= end_s
    o_idx, sent, tick = o_idx[keep], sent[keep], tick[keep]
    order = np.lexsort((tick, o_idx, sent))
    o_idx, sent, tick = o_idx[order], sent[order], tick[order]
    m = o_idx.size

    c = O["cust"][o_idx]
    seg, persona = cust["seg"][c], cust["persona"][c]
    ans_raw = sent + np.ceil(np.maximum(_lognormal(rng, 18 * P.HOUR, 1.3, m), 300))
    answered = (rng.random(m) < np.asarray([P.RESPONSE_PROB[s] for s in P.SEGMENTS])[seg]) & (
        ans_raw <= end_s)
    checkin_s = _epoch(P.CHECKIN_START)
    sms_lo, sms_hi = _epoch(P.SMS_START), _epoch(P.SMS_END) + P.DAY - 1
    post = ans_raw >= checkin_s
    in_sms = cust["treat"][c] & (ans_raw >= sms_lo) & (ans_raw <= sms_hi)
    late, bad, fu7 = O["late"][o_idx], O["t_bad"][o_idx], O["fu7"][o_idx]
    p_high = (np.asarray([P.CSAT_HIGH["base"][s] for s in P.SEGMENTS])[seg]
              + np.asarray([P.CSAT_HIGH["persona"][p] for p in P.PERSONAS])[persona]
              + P.CSAT_HIGH["late_delivery"] * late + P.CSAT_HIGH["ticket_bad"] * bad
              + P.CSAT_HIGH["no_followup_7d"] * ~fu7
              + P.EFFECT["common_csat"] * post + P.EFFECT["checkin_csat"] * (post & (seg == 1))
              + P.EFFECT["sms_csat"] * in_sms)
    p_high = np.clip(p_high, 0.0, 1.0)
    high = rng.random(m) < p_high
    csat = np.where(high, 4 + (rng.random(m) < 0.55),
                    1 + rng.choice(3, size=m, p=(0.2, 0.3, 0.5)))
    nps = _choice_rows(rng, P.NPS_GIVEN_CSAT[csat - 1])
    mu = 2.0 + 0.9 * (csat - 1) - 0.8 * bad - 0.5 * late
    ces = np.clip(np.rint(mu + rng.standard_normal(m)), 1, 7).astype("int64")

    def score(x, miss):
        arr = pd.array(x.astype("int64"), dtype="Int64")
        arr[~answered | (rng.random(m) < miss)] = pd.NA
        return arr

    csat_a = score(csat, P.SCORE_MISSING["csat"])
    nps_a = score(nps, P.SCORE_MISSING["nps"])
    ces_a = score(ces, P.SCORE_MISSING["ces"])

    # comments: sentiment from the scores, topic from the experience
    has_c = answered & (rng.random(m) < P.COMMENT_PROB)
    sent_i = np.where(csat >= 4, 0, np.where(csat == 3, 1, 2))
    flip = rng.random(m) < 0.10
    sent_i = np.where(flip, rng.choice(3, size=m), sent_i)
    w = np.column_stack([1 + 4 * late, 0.3 + 4 * O["has_t"][o_idx] + 6 * (tick >= 0),
                         np.full(m, 2.0), 0.8 + 1.5 * ~fu7])
    topic = _choice_rows(rng, w.astype(float))
    lang = (rng.random(m) < P.SPANISH_PROB).astype(int)
    flat, offset, count = [], np.zeros((2, 3, 4), int), np.zeros((2, 3, 4), int)
    for li, lg in enumerate(("en", "es")):
        for si, s in enumerate(C.SENTIMENTS):
            for ti, tpc in enumerate(C.TOPICS):
                offset[li, si, ti] = len(flat)
                count[li, si, ti] = len(C.TEMPLATES[lg][s][tpc])
                flat.extend(C.TEMPLATES[lg][s][tpc])
    flat = np.asarray(flat, dtype=object)
    cnt = count[lang, sent_i, topic]
    first = flat[offset[lang, sent_i, topic] + np.floor(rng.random(m) * cnt).astype(int)]
    topic2 = (topic + rng.integers(1, 4, m)) % 4
    cnt2 = count[lang, sent_i, topic2]
    second = flat[offset[lang, sent_i, topic2] + np.floor(rng.random(m) * cnt2).astype(int)]
    two = rng.random(m) < 0.25
    text = np.where(two, first + " " + second, first)
    comment = pd.Series(np.where(has_c, text, None), dtype="str")
    ci = np.flatnonzero(has_c)
    if ci.size < len(P.SPECIAL_COMMENTS):
        ci = np.flatnonzero(answered)
    for j, special in zip(ci[: len(P.SPECIAL_COMMENTS)], P.SPECIAL_COMMENTS):
        comment.iloc[j] = special

    return pd.DataFrame({
        "response_id": _ids("S", m),
        "customer_id": O["customer_id"][o_idx],
        "sent_at": _ts(sent),
        "order_id": O["order_id"][o_idx],
        "ticket_id": pd.Series(np.where(tick >= 0, ticket_ids[np.maximum(tick, 0)], None)
                               if ticket_ids.size else np.full(m, None, dtype=object),
                               dtype="str"),
        "answered_at": _ts(np.where(answered, ans_raw, np.nan)),
        "csat": csat_a,
        "nps": nps_a,
        "ces": ces_a,
        "comment": comment,
    })


def _referrals(rng, O, cust, cust_ids, end_s):
    first = np.flatnonzero(O["k"] == 0)
    c = O["cust"][first]
    t0 = O["t"][first]
    n = first.size
    persona = cust["persona"][c]
    p = (P.REFERRAL["base"] + np.asarray([P.REFERRAL["persona"][q] for q in P.PERSONAS])[persona]
         + P.REFERRAL["followup_7d"] * O["fu7"][first]
         + P.REFERRAL["late_delivery"] * O["late"][first]
         + P.REFERRAL["ticket_bad"] * O["t_bad"][first])
    r1 = rng.random(n) < np.clip(p, 0, 1)
    r2 = r1 & (rng.random(n) < P.REFERRAL_SECOND)
    r3 = rng.random(n) < P.REFERRAL_LATER
    within = lambda: t0 + P.HOUR + rng.random(n) * (89 * P.DAY - P.HOUR)  # noqa: E731
    t1, t2 = within(), within()
    t3 = t0 + 95 * P.DAY + rng.random(n) * 305 * P.DAY
    cc = np.concatenate([c[r1], c[r2], c[r3]])
    tt = np.floor(np.concatenate([t1[r1], t2[r2], t3[r3]]))
    keep = tt <= end_s
    cc, tt = cc[keep], tt[keep]
    order = np.lexsort((cc, tt))
    cc, tt = cc[order], tt[order]
    return pd.DataFrame({
        "referral_id": _ids("R", cc.size),
        "customer_id": cust_ids[cc],
        "referred_at": _ts(tt),
        "converted": rng.random(cc.size) < P.REFERRAL_CONVERTED,
    })


def _interventions_and_costs(start_s, end_s, scale):
    gt = T.GROUND_TRUTH["interventions"]
    desc = {
        "checkin": "Segment B customers get a proactive satisfaction check-in (phone or "
                   "e-mail) 3-5 days after delivery. A and C are untreated.",
        "sms_thanks": "Randomized at customer level (customers.variant): treatment customers "
                      "get a thank-you SMS a few hours after delivery for orders placed in "
                      "the test window.",
        "faster_support": "More support staff: first responses about 30% faster for every "
                          "ticket. No comparison group.",
    }
    rows, costs = [], []
    for iid, info in gt.items():
        s = _epoch(info["start_at"])
        if s > end_s:
            continue
        e = _epoch(info["end_at"]) if info["end_at"] else None
        rows.append({
            "intervention_id": iid, "name": info["name"], "start_at": float(s),
            "end_at": float(e) if e is not None else np.nan,
            "segment_by": info["segment_by"], "segment": info["segment"],
            "description": desc[iid], "design": info["design"],
            "variant_column": "variant" if info["design"] == "randomized_ab" else None,
        })
        c = P.COSTS[iid]
        costs.append((iid, s, round(c["one_off"] * scale, 2), "one_off", "set-up"))
        last = min(e if e is not None else end_s, end_s)
        months = pd.date_range(pd.Timestamp(s, unit="s").to_period("M").to_timestamp(),
                               pd.Timestamp(last, unit="s"), freq="MS")
        for mstart in months:
            ms = max(int(mstart.value // 10**9), s)
            costs.append((iid, ms, round(c["monthly"] * scale, 2), "recurring",
                          f"monthly running cost {mstart:%Y-%m}"))
    iv = pd.DataFrame(rows, columns=["intervention_id", "name", "start_at", "end_at",
                                     "segment_by", "segment", "description", "design",
                                     "variant_column"])
    iv["start_at"] = _ts(iv["start_at"].to_numpy(float))
    iv["end_at"] = _ts(iv["end_at"].to_numpy(float))
    for col in ("segment_by", "segment", "variant_column"):
        iv[col] = iv[col].astype("str")
    co = pd.DataFrame(costs, columns=["intervention_id", "incurred_at", "amount", "kind",
                                      "note"])
    co["incurred_at"] = _ts(co["incurred_at"].to_numpy(float))
    co["amount"] = co["amount"].astype(float)
    return iv, co


def _append_bad_rows(tables, start_s, end_s):
    t0 = float(start_s + min(P.BAD["start_day"] * P.DAY, (end_s - start_s) // 4) + 12 * P.HOUR)
    orders = tables["orders"]
    o = orders.copy()
    o["ordered_at"] = o["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str")
    dup = o.iloc[[0]].copy()
    dup["order_value"] = dup["order_value"] + 10.0
    cust0 = orders["customer_id"].iloc[0]
    nat = _ts(np.array([np.nan]))
    extra = pd.DataFrame({
        "order_id": ["O9999901", "O9999902"], "customer_id": [cust0, cust0],
        "ordered_at": ["not-a-date", _ts(np.array([t0])).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ").iloc[0]],
        "order_value": [10.0, -25.0], "channel": ["web", "web"],
        "promised_at": pd.concat([nat, nat], ignore_index=True),
        "delivered_at": pd.concat([nat, nat], ignore_index=True),
        "status": ["cancelled", "cancelled"]})
    extra["ordered_at"] = extra["ordered_at"].astype("str")
    tables["orders"] = pd.concat([o, dup, extra], ignore_index=True)

    def add(name, row):
        df = tables[name]
        new = pd.DataFrame([row])
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                new[col] = _ts(np.array([row[col]], dtype=float))
            else:
                new[col] = new[col].astype(df[col].dtype)
        tables[name] = pd.concat([df, new[df.columns]], ignore_index=True)

    first_order = orders["order_id"].iloc[0]
    add("followups", {"followup_id": "F9999901", "order_id": "O9999999",
                      "customer_id": cust0, "sent_at": t0 + 20 * P.DAY,
                      "touchpoint": "thank_you", "channel": "email", "personalized": False})
    add("tickets", {"ticket_id": "T9999901", "customer_id": cust0, "created_at": t0 + 30 * P.DAY,
                    "order_id": first_order, "channel": "email",
                    "first_response_at": t0 + 30 * P.DAY - 3 * P.HOUR,
                    "resolved_at": t0 + 30 * P.DAY + 5 * P.HOUR, "contacts": 1,
                    "reopened": False, "category": "billing"})
    for rid, csat, nps in (("S9999901", 7, 9), ("S9999902", 5, 11)):
        add("surveys", {"response_id": rid, "customer_id": cust0, "sent_at": t0 + 40 * P.DAY,
                        "order_id": first_order, "ticket_id": None,
                        "answered_at": t0 + 41 * P.DAY, "csat": csat, "nps": nps, "ces": 6,
                        "comment": None})
    add("referrals", {"referral_id": "R9999901", "customer_id": "C9999999",
                      "referred_at": t0 + 50 * P.DAY, "converted": False})
    return tables


# ----------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------
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
    start_s, end_s = _bounds(start, end)
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
    O = {k: v[keep] for k, v in sim.items()}
    O["cust"] = new_of_old[O["cust"]]
    order = np.lexsort((O["cust"], O["t"]))
    O = {k: v[order] for k, v in O.items()}
    del sim
    cust_ids = _ids("C", chosen.size)
    O["order_id"] = _ids("O", n_orders)
    O["customer_id"] = cust_ids[O["cust"]]

    # orders
    deliv = O["delivered"]
    delivered_ok = deliv <= end_s
    status = np.where(O["cancelled"], "cancelled",
                      np.where(~delivered_ok, "shipped",
                               np.where(O["returned"] & (deliv + 7 * P.DAY <= end_s),
                                        "returned", "delivered")))
    orders = pd.DataFrame({
        "order_id": O["order_id"],
        "customer_id": O["customer_id"],
        "ordered_at": _ts(O["t"]),
        "order_value": O["value"],
        "channel": np.asarray(P.ORDER_CHANNELS)[O["ch"]],
        "promised_at": _ts(np.where(O["promised"] <= end_s, O["promised"], np.nan)),
        "delivered_at": _ts(np.where(delivered_ok, deliv, np.nan)),
        "status": status,
    })
    customers = pd.DataFrame({
        "customer_id": cust_ids,
        "segment": np.asarray(P.SEGMENTS)[cust["seg"]],
        "region": np.asarray(P.REGIONS)[cust["region"]],
        "persona": np.asarray(P.PERSONAS)[cust["persona"]],
        "loyalty_member": cust["loyal"],
        "signup_at": _ts(np.floor(cust["signup"])),
        "variant": np.where(cust["treat"], "treatment", "control"),
    })
    followups = _followups(rng, O, cust, end_s)
    tickets, t_rows = _tickets(O, end_s)
    surveys = _surveys(rng, O, cust, t_rows, tickets["ticket_id"].to_numpy(), end_s)
    referrals = _referrals(rng, O, cust, cust_ids, end_s)
    interventions, costs = _interventions_and_costs(start_s, end_s, n_orders / 4000)
    tables = {"orders": orders, "customers": customers, "followups": followups,
              "tickets": tickets, "surveys": surveys, "referrals": referrals,
              "interventions": interventions, "costs": costs}
    if bad_rows:
        tables = _append_bad_rows(tables, start_s, end_s)
    for df in tables.values():
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].astype("str")
    return tables
