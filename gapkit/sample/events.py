"""The post-sale event tables built from the simulated orders: follow-ups, tickets, surveys,
referrals, interventions and costs, and the deliberately bad rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.sample import comments as C
from gapkit.sample import draws as D
from gapkit.sample import parameters as P
from gapkit.sample import truth as T


# ----------------------------------------------------------------------------------------
# Table builders
# ----------------------------------------------------------------------------------------
def followups(rng, order_rows, cust, end_s):
    """Follow-up rows: organic (0..3 per delivered order) plus the planted interventions."""
    n = order_rows["t"].size
    deliv = order_rows["delivered"]
    has_first = ~np.isnan(order_rows["fu_lat"])
    first_sent = deliv + order_rows["fu_lat"]
    n_extra = np.where(has_first, rng.choice(3, size=n, p=P.FOLLOWUP_EXTRA), 0)
    gap1 = P.DAY + 9 * P.DAY * rng.beta(1.2, 2.0, n)
    gap2 = P.DAY + 9 * P.DAY * rng.beta(1.2, 2.0, n)
    e1 = first_sent + gap1
    e2 = e1 + gap2
    # touchpoints
    is_first = order_rows["k"] == 0
    tp_first = np.where(is_first, rng.choice([0, 1, 3], size=n, p=(0.35, 0.30, 0.35)),
                        rng.choice([0, 1], size=n, p=(0.5, 0.5)))
    extra_tp = [4, 2, 5, 6]  # review_request, satisfaction_check, cross_sell, milestone
    seg = cust["seg"][order_rows["cust"]]
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
    ci = np.flatnonzero((seg == 1) & (deliv >= D.epoch(P.CHECKIN_START)))
    o_idx.append(ci)
    sent.append(np.floor(deliv[ci] + 3 * P.DAY + rng.random(ci.size) * 2 * P.DAY))
    tp.append(np.full(ci.size, 2))
    chan.append(np.where(rng.random(ci.size) < 0.5, 2, 0))
    pers.append(np.ones(ci.size, dtype=bool))
    # planted: SMS thank-you for treatment customers' orders placed in the window
    sms_lo, sms_hi = D.epoch(P.SMS_START), D.epoch(P.SMS_END) + P.DAY - 1
    si = np.flatnonzero(cust["treat"][order_rows["cust"]] & (order_rows["t"] >= sms_lo) & (order_rows["t"] <= sms_hi)
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
        "followup_id": D.ids("F", o_idx.size),
        "order_id": order_rows["order_id"][o_idx],
        "customer_id": order_rows["customer_id"][o_idx],
        "sent_at": D.ts(sent),
        "touchpoint": touchpoints[tp],
        "channel": np.asarray(P.FOLLOWUP_CHANNELS)[chan],
        "personalized": pers,
    })


def tickets(order_rows, end_s):
    i = np.flatnonzero(order_rows["has_t"] & (order_rows["t_created"] <= end_s))
    created = order_rows["t_created"][i]
    i = i[np.argsort(created, kind="stable")]
    created = order_rows["t_created"][i]
    first = order_rows["t_first"][i].copy()
    resolved = order_rows["t_resolved"][i].copy()
    first[first > end_s] = np.nan
    resolved[~(resolved <= end_s)] = np.nan
    reopened = order_rows["t_reopened"][i] & ~np.isnan(resolved)
    df = pd.DataFrame({
        "ticket_id": D.ids("T", i.size),
        "customer_id": order_rows["customer_id"][i],
        "created_at": D.ts(created),
        "order_id": order_rows["order_id"][i],
        "channel": np.asarray(P.TICKET_CHANNELS)[order_rows["t_ch"][i]],
        "first_response_at": D.ts(first),
        "resolved_at": D.ts(resolved),
        "contacts": order_rows["t_contacts"][i].astype("int64"),
        "reopened": reopened,
        "category": np.asarray(P.TICKET_CATEGORIES)[order_rows["t_cat"][i]],
    })
    return df, i


def surveys(rng, order_rows, cust, t_rows, ticket_ids, end_s):
    n = order_rows["t"].size
    deliv = order_rows["delivered"]
    d_mask = ~np.isnan(deliv) & (rng.random(n) < P.SURVEY_AFTER_DELIVERY)
    d_idx = np.flatnonzero(d_mask)
    d_sent = np.floor(deliv[d_idx] + np.maximum(D.lognormal(rng, 2 * P.DAY, 0.5, d_idx.size),
                                                2 * P.HOUR))
    res = order_rows["t_resolved"][t_rows]
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

    c = order_rows["cust"][o_idx]
    seg, persona = cust["seg"][c], cust["persona"][c]
    ans_raw = sent + np.ceil(np.maximum(D.lognormal(rng, 18 * P.HOUR, 1.3, m), 300))
    answered = (rng.random(m) < np.asarray([P.RESPONSE_PROB[s] for s in P.SEGMENTS])[seg]) & (
        ans_raw <= end_s)
    checkin_s = D.epoch(P.CHECKIN_START)
    sms_lo, sms_hi = D.epoch(P.SMS_START), D.epoch(P.SMS_END) + P.DAY - 1
    post = ans_raw >= checkin_s
    in_sms = cust["treat"][c] & (ans_raw >= sms_lo) & (ans_raw <= sms_hi)
    late, bad, fu7 = order_rows["late"][o_idx], order_rows["t_bad"][o_idx], order_rows["fu7"][o_idx]
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
    nps = D.choice_rows(rng, P.NPS_GIVEN_CSAT[csat - 1])
    mu = 2.0 + 0.9 * (csat - 1) - 0.8 * bad - 0.5 * late
    ces = np.clip(np.rint(mu + rng.standard_normal(m)), 1, 7).astype("int64")

    def score(x, miss):
        arr = pd.array(x.astype("int64"), dtype="Int64")
        arr[~answered | (rng.random(m) < miss)] = pd.NA
        return arr

    csat_a = score(csat, P.SCORE_MISSING["csat"])
    nps_a = score(nps, P.SCORE_MISSING["nps"])
    ces_a = score(ces, P.SCORE_MISSING["ces"])

    comment = _comments(rng, m, answered, csat, late, fu7, order_rows["has_t"][o_idx], tick)

    return pd.DataFrame({
        "response_id": D.ids("S", m),
        "customer_id": order_rows["customer_id"][o_idx],
        "sent_at": D.ts(sent),
        "order_id": order_rows["order_id"][o_idx],
        "ticket_id": pd.Series(np.where(tick >= 0, ticket_ids[np.maximum(tick, 0)], None)
                               if ticket_ids.size else np.full(m, None, dtype=object),
                               dtype="str"),
        "answered_at": D.ts(np.where(answered, ans_raw, np.nan)),
        "csat": csat_a,
        "nps": nps_a,
        "ces": ces_a,
        "comment": comment,
    })


def _comments(rng, m, answered, csat, late, fu7, has_ticket, tick):
    """Survey comments: sentiment from the scores, topic from the experience, some in Spanish,
    and the special comments (contact details, markup) that test redaction."""
    has_c = answered & (rng.random(m) < P.COMMENT_PROB)
    sent_i = np.where(csat >= 4, 0, np.where(csat == 3, 1, 2))
    flip = rng.random(m) < 0.10
    sent_i = np.where(flip, rng.choice(3, size=m), sent_i)
    w = np.column_stack([1 + 4 * late, 0.3 + 4 * has_ticket + 6 * (tick >= 0),
                         np.full(m, 2.0), 0.8 + 1.5 * ~fu7])
    topic = D.choice_rows(rng, w.astype(float))
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
    return comment


def referrals(rng, order_rows, cust, cust_ids, end_s):
    first = np.flatnonzero(order_rows["k"] == 0)
    c = order_rows["cust"][first]
    t0 = order_rows["t"][first]
    n = first.size
    persona = cust["persona"][c]
    p = (P.REFERRAL["base"] + np.asarray([P.REFERRAL["persona"][q] for q in P.PERSONAS])[persona]
         + P.REFERRAL["followup_7d"] * order_rows["fu7"][first]
         + P.REFERRAL["late_delivery"] * order_rows["late"][first]
         + P.REFERRAL["ticket_bad"] * order_rows["t_bad"][first])
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
        "referral_id": D.ids("R", cc.size),
        "customer_id": cust_ids[cc],
        "referred_at": D.ts(tt),
        "converted": rng.random(cc.size) < P.REFERRAL_CONVERTED,
    })


def interventions_and_costs(start_s, end_s, scale):
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
        s = D.epoch(info["start_at"])
        if s > end_s:
            continue
        e = D.epoch(info["end_at"]) if info["end_at"] else None
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
    iv["start_at"] = D.ts(iv["start_at"].to_numpy(float))
    iv["end_at"] = D.ts(iv["end_at"].to_numpy(float))
    for col in ("segment_by", "segment", "variant_column"):
        iv[col] = iv[col].astype("str")
    co = pd.DataFrame(costs, columns=["intervention_id", "incurred_at", "amount", "kind",
                                      "note"])
    co["incurred_at"] = D.ts(co["incurred_at"].to_numpy(float))
    co["amount"] = co["amount"].astype(float)
    return iv, co


def append_bad_rows(tables, start_s, end_s):
    t0 = float(start_s + min(P.BAD["start_day"] * P.DAY, (end_s - start_s) // 4) + 12 * P.HOUR)
    orders = tables["orders"]
    o = orders.copy()
    o["ordered_at"] = o["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str")
    dup = o.iloc[[0]].copy()
    dup["order_value"] = dup["order_value"] + 10.0
    cust0 = orders["customer_id"].iloc[0]
    nat = D.ts(np.array([np.nan]))
    extra = pd.DataFrame({
        "order_id": ["O9999901", "O9999902"], "customer_id": [cust0, cust0],
        "ordered_at": ["not-a-date", D.ts(np.array([t0])).dt.strftime(
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
                new[col] = D.ts(np.array([row[col]], dtype=float))
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
