"""Tests for gapkit.sample: contract shape, integrity, determinism and planted effects."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapkit import sample
from gapkit.sample import GROUND_TRUTH, TABLES, generate, main, write

END = pd.Timestamp("2025-06-30 23:59:59", tz="UTC")
START = pd.Timestamp("2024-01-01", tz="UTC")
CHECKIN = pd.Timestamp("2025-01-01", tz="UTC")
SMS_LO = pd.Timestamp("2024-09-01", tz="UTC")
SMS_HI = pd.Timestamp("2024-12-31 23:59:59", tz="UTC")
FASTER = pd.Timestamp("2025-03-01", tz="UTC")
ROOT = Path(__file__).resolve().parents[1]

# Contract section 1: required columns, plus the optional ones the generator promises.
REQUIRED = {
    "orders": ["order_id", "customer_id", "ordered_at"],
    "customers": ["customer_id"],
    "followups": ["followup_id", "order_id", "customer_id", "sent_at"],
    "tickets": ["ticket_id", "customer_id", "created_at"],
    "surveys": ["response_id", "customer_id", "sent_at"],
    "referrals": ["referral_id", "customer_id", "referred_at"],
    "interventions": ["intervention_id", "name", "start_at"],
    "costs": ["intervention_id", "incurred_at", "amount"],
}
OPTIONAL = {
    "orders": ["order_value", "channel", "promised_at", "delivered_at", "status"],
    "customers": ["segment", "region", "persona", "loyalty_member", "signup_at", "variant"],
    "followups": ["touchpoint", "channel", "personalized"],
    "tickets": ["order_id", "channel", "first_response_at", "resolved_at", "contacts",
                "reopened", "category"],
    "surveys": ["order_id", "ticket_id", "answered_at", "csat", "nps", "ces", "comment"],
    "referrals": ["converted"],
    "interventions": ["end_at", "segment_by", "segment", "description"],
    "costs": ["kind", "note"],
}
KEYS = {"orders": "order_id", "customers": "customer_id", "followups": "followup_id",
        "tickets": "ticket_id", "surveys": "response_id", "referrals": "referral_id",
        "interventions": "intervention_id"}
BAD_KEYS = {(b["table"], b["key"]) for b in GROUND_TRUTH["bad_rows"]}


def ordered_at(orders: pd.DataFrame) -> pd.Series:
    """ordered_at as UTC datetimes (it is text when bad rows are present)."""
    col = orders["ordered_at"]
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col
    return pd.to_datetime(col, utc=True, format="ISO8601", errors="coerce")


def datetime_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]


def repeat_within_90(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Per order: does the same customer order again within 90 days? (elapsed orders only)"""
    o = orders.merge(customers[["customer_id", "segment"]], on="customer_id")
    o = o.sort_values(["customer_id", "ordered_at"], kind="stable")
    nxt = o.groupby("customer_id")["ordered_at"].shift(-1)
    o["repeat"] = (nxt - o["ordered_at"]) <= pd.Timedelta(days=90)
    return o[o["ordered_at"] + pd.Timedelta(days=90) <= END]


def did(y: pd.Series, treated: pd.Series, post: pd.Series) -> float:
    m = y.astype(float).groupby([treated.to_numpy(), post.to_numpy()]).mean()
    return (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])


@pytest.fixture(scope="module")
def tables():
    return generate()


@pytest.fixture(scope="module")
def clean():
    return generate(bad_rows=False)


@pytest.fixture(scope="module")
def big():
    return generate(n_orders=40_000, seed=7, bad_rows=False)


@pytest.fixture(scope="module")
def huge():
    t0 = time.perf_counter()
    t = generate(n_orders=200_000, seed=7, bad_rows=False)
    return t, time.perf_counter() - t0


# ----------------------------------------------------------------------------- shape
def test_all_tables_with_contract_columns(tables):
    assert tuple(tables) == TABLES
    for name in TABLES:
        cols = list(tables[name].columns)
        missing = [c for c in REQUIRED[name] + OPTIONAL[name] if c not in cols]
        assert not missing, f"{name} lacks {missing}"
        assert len(tables[name]) > 0, name


def test_dtypes_and_domains(clean):
    o, c, f, t, s = (clean[k] for k in ("orders", "customers", "followups", "tickets",
                                        "surveys"))
    for name, df in clean.items():
        for col in datetime_columns(df):
            assert str(df[col].dt.tz) == "UTC", (name, col)
    assert isinstance(o["ordered_at"].dtype, pd.DatetimeTZDtype)
    assert (o["order_value"] >= 0).all()
    assert set(o["channel"]) == {"web", "app", "store", "marketplace"}
    assert set(o["status"]) == {"delivered", "shipped", "cancelled", "returned"}
    assert set(c["segment"]) == {"A", "B", "C"}
    assert c["region"].nunique() == 4
    assert set(c["persona"]) == {"bargain_hunter", "loyalist", "new_explorer"}
    assert c["loyalty_member"].dtype == bool and f["personalized"].dtype == bool
    assert set(c["variant"]) == {"treatment", "control"}
    assert set(f["touchpoint"]) <= {"thank_you", "delivery_check", "satisfaction_check",
                                    "onboarding", "review_request", "cross_sell",
                                    "milestone"}
    assert set(f["channel"]) <= {"email", "sms", "phone", "chat", "social", "mail"}
    assert set(t["category"]) == {"delivery", "product", "billing", "returns"}
    assert (t["contacts"] >= 1).all() and (t["contacts"] == 1).mean() > 0.5
    assert t["reopened"].dtype == bool and 0 < t["reopened"].mean() < 0.1
    assert s["csat"].dropna().between(1, 5).all()
    assert s["nps"].dropna().between(0, 10).all()
    assert s["ces"].dropna().between(1, 7).all()
    assert (clean["costs"]["amount"] >= 0).all()
    assert set(clean["costs"]["kind"]) == {"one_off", "recurring"}


def test_realistic_volumes(clean):
    o, c = clean["orders"], clean["customers"]
    assert len(o) == 4000
    assert 0.5 <= len(c) / len(o) <= 0.7            # customers repeat
    assert (o.groupby("customer_id").size() > 1).any()
    assert 0.12 <= len(clean["tickets"]) / len(o) <= 0.18
    s = clean["surveys"]
    answered = s["answered_at"].notna()
    assert 0.33 <= answered.mean() <= 0.47
    assert s["ticket_id"].notna().any() and s["ticket_id"].isna().any()
    scored = s.loc[answered, ["csat", "nps", "ces"]]
    assert scored.isna().any().all()               # some answered surveys skip a score
    assert 0.3 <= s.loc[answered, "comment"].notna().mean() <= 0.5
    # December peak: more orders per day in December than in the spring
    per_month = o.groupby(o["ordered_at"].dt.strftime("%Y-%m")).size()
    assert per_month["2024-12"] > 1.2 * (per_month["2024-10"] + per_month["2025-01"]) / 2
    # lognormal order values: right-skewed
    assert o["order_value"].mean() > o["order_value"].median()


# --------------------------------------------------------------------- integrity
def test_keys_unique_apart_from_bad_rows(tables):
    for name, key in KEYS.items():
        ids = tables[name][key]
        dup = set(ids[ids.duplicated()])
        if name == "orders":
            assert dup == {"O0000001"}, dup        # the one planted duplicate
        else:
            assert not dup, (name, dup)


def test_keys_unique_and_foreign_keys_hold_without_bad_rows(clean):
    for name, key in KEYS.items():
        assert clean[name][key].is_unique, name
        assert clean[name][key].notna().all(), name
    orders = set(clean["orders"]["order_id"])
    customers = set(clean["customers"]["customer_id"])
    tickets = set(clean["tickets"]["ticket_id"])
    for name in ("orders", "followups", "tickets", "surveys", "referrals"):
        assert set(clean[name]["customer_id"]) <= customers, name
    for name in ("followups", "tickets", "surveys"):
        assert set(clean[name]["order_id"].dropna()) <= orders, name
    assert set(clean["surveys"]["ticket_id"].dropna()) <= tickets
    assert set(clean["costs"]["intervention_id"]) <= set(
        clean["interventions"]["intervention_id"])
    # order and customer agree across tables
    own = clean["orders"].set_index("order_id")["customer_id"]
    for name in ("followups", "tickets", "surveys"):
        df = clean[name].dropna(subset=["order_id"])
        assert (df["order_id"].map(own) == df["customer_id"]).all(), name


def test_bad_rows_are_the_documented_ones(tables):
    bad = GROUND_TRUTH["bad_rows"]
    assert 6 <= len(bad) <= 10
    o = tables["orders"]
    assert o["ordered_at"].dtype != "datetime64[us, UTC]"  # text column with "not-a-date"
    by_key = {(b["table"], b["key"]): b for b in bad}
    assert o.loc[o["order_id"] == "O9999901", "ordered_at"].item() == "not-a-date"
    assert ordered_at(o).isna().sum() == 1
    assert o.loc[o["order_id"] == "O9999902", "order_value"].item() < 0
    assert (o["order_value"] < 0).sum() == 1
    assert (o["order_id"] == "O0000001").sum() == 2
    f = tables["followups"]
    orphan = f.loc[~f["order_id"].isin(o["order_id"])]
    assert orphan["followup_id"].tolist() == ["F9999901"]
    t = tables["tickets"]
    early = t.loc[t["first_response_at"] < t["created_at"], "ticket_id"]
    assert early.tolist() == ["T9999901"]
    s = tables["surveys"]
    assert s.loc[s["csat"] > 5, "response_id"].tolist() == ["S9999901"]
    assert s.loc[s["nps"] > 10, "response_id"].tolist() == ["S9999902"]
    r = tables["referrals"]
    orphan_r = r.loc[~r["customer_id"].isin(tables["customers"]["customer_id"])]
    assert orphan_r["referral_id"].tolist() == ["R9999901"]
    for (table, key), b in by_key.items():
        keycol = b["key_column"]
        assert (tables[table][keycol] == key).any(), (table, key)
        assert b["column"] in tables[table].columns


def test_bad_rows_are_appended_to_the_clean_tables(tables, clean):
    for name in TABLES:
        n_bad = sum(b["table"] == name for b in GROUND_TRUTH["bad_rows"])
        assert len(tables[name]) == len(clean[name]) + n_bad, name
    o = tables["orders"].iloc[: len(clean["orders"])].copy()
    o["ordered_at"] = ordered_at(o)
    pd.testing.assert_frame_equal(o, clean["orders"])


def test_seeded_determinism():
    a, b = generate(800, seed=3), generate(800, seed=3)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    c = generate(800, seed=4)
    assert not a["orders"]["order_value"].equals(c["orders"]["order_value"])


@pytest.mark.parametrize("fixture", ["tables", "big"])
def test_no_timestamp_after_end(fixture, request):
    data = request.getfixturevalue(fixture)
    for name, df in data.items():
        cols = datetime_columns(df)
        for col in cols:
            assert (df[col].dropna() <= END).all(), (name, col)
    assert (ordered_at(data["orders"]).dropna() <= END).all()
    assert (ordered_at(data["orders"]).dropna() >= START).all()


def test_timestamps_in_order(tables):
    """delivered >= ordered, sent >= delivered, ...; only planted bad rows break this."""
    o = tables["orders"].copy()
    o["ordered_at"] = ordered_at(o)
    o = o.drop_duplicates("order_id")
    assert (o["delivered_at"].dropna() > o.loc[o["delivered_at"].notna(), "ordered_at"]).all()
    prom = o["promised_at"].dropna()
    assert (prom == prom.dt.normalize()).all()       # whole-day promises at midnight UTC
    days = (prom - o.loc[prom.index, "ordered_at"].dt.normalize()).dt.days
    assert days.between(3, 7).all()
    status = o["status"]
    assert o.loc[status.isin(["delivered", "returned"]), "delivered_at"].notna().all()
    assert o.loc[status.isin(["shipped", "cancelled"]), "delivered_at"].isna().all()
    oi = o.set_index("order_id")

    f = tables["followups"]
    f = f[f["order_id"].isin(oi.index)]
    assert (f["sent_at"] > f["order_id"].map(oi["delivered_at"])).all()

    t = tables["tickets"]
    ok = t["ticket_id"] != "T9999901"
    assert (t["created_at"] > t["order_id"].map(oi["ordered_at"])).all()
    assert (t.loc[ok, "first_response_at"].dropna()
            >= t.loc[ok & t["first_response_at"].notna(), "created_at"]).all()
    res = t["resolved_at"].notna()
    assert (t.loc[res, "resolved_at"] >= t.loc[res, "first_response_at"]).all()
    assert t.loc[t["first_response_at"].isna(), "resolved_at"].isna().all()

    s = tables["surveys"]
    ans = s["answered_at"].notna()
    assert (s.loc[ans, "answered_at"] >= s.loc[ans, "sent_at"]).all()
    assert s.loc[~ans, ["csat", "nps", "ces", "comment"]].isna().all().all()
    own = s[s["ticket_id"].isna() & ~s["response_id"].str.startswith("S99999")]
    assert (own["sent_at"] > own["order_id"].map(oi["delivered_at"])).all()
    viat = s[s["ticket_id"].notna()]
    ti = t.set_index("ticket_id")
    assert (viat["sent_at"] > viat["ticket_id"].map(ti["resolved_at"])).all()

    c = tables["customers"].set_index("customer_id")
    first = o.groupby("customer_id")["ordered_at"].min()
    assert (c.loc[first.index, "signup_at"] <= first).all()
    r = tables["referrals"]
    r = r[r["customer_id"].isin(first.index)]
    assert (r["referred_at"] > r["customer_id"].map(first)).all()

    iv = tables["interventions"].set_index("intervention_id")
    costs = tables["costs"]
    assert (costs["incurred_at"] >= costs["intervention_id"].map(iv["start_at"])).all()


def test_undelivered_and_unanswered_near_the_end(clean):
    """Censoring at `end` shows up as NaT, not as future timestamps."""
    o = clean["orders"]
    recent = o[o["ordered_at"] > END - pd.Timedelta(days=2)]
    assert (recent["status"] == "shipped").any()
    assert recent.loc[recent["status"] == "shipped", "delivered_at"].isna().all()
    s = clean["surveys"]
    last = s[s["sent_at"] > END - pd.Timedelta(days=3)]
    assert last["answered_at"].isna().mean() > 0.6
    t = clean["tickets"]
    assert t["first_response_at"].isna().any() and t["resolved_at"].isna().any()


# ------------------------------------------------------------------ planted truth
def test_ground_truth_documents_the_interventions(clean):
    iv = clean["interventions"].set_index("intervention_id")
    gt = GROUND_TRUTH["interventions"]
    assert set(iv.index) == set(gt) == {"checkin", "sms_thanks", "faster_support"}
    for iid, info in gt.items():
        assert iv.loc[iid, "name"] == info["name"]
        assert iv.loc[iid, "start_at"] == pd.Timestamp(info["start_at"], tz="UTC")
        assert info["effects"], iid
    assert iv.loc["checkin", "segment_by"] == "segment" and iv.loc["checkin", "segment"] == "B"
    assert pd.isna(iv.loc["checkin", "end_at"])
    assert pd.isna(iv.loc["sms_thanks", "segment"]) and pd.isna(iv.loc["faster_support",
                                                                       "segment"])
    assert iv.loc["sms_thanks", "end_at"] == SMS_HI
    eff = {e["kpi"]: e["effect"] for e in gt["checkin"]["effects"]}
    assert eff == {"repeat_purchase_rate": 0.08, "csat": 0.10}
    shift = {e["kpi"]: e["effect"] for e in GROUND_TRUTH["common_shifts"]}
    assert shift == {"repeat_purchase_rate": 0.04, "csat": -0.05}
    assert gt["sms_thanks"]["effects"][0]["effect"] == 0.06
    json.dumps(GROUND_TRUTH)                          # serializable


def test_costs_one_off_then_monthly(clean):
    co = clean["costs"]
    iv = clean["interventions"].set_index("intervention_id")
    for iid, g in co.groupby("intervention_id"):
        one = g[g["kind"] == "one_off"]
        assert len(one) == 1 and one["incurred_at"].item() == iv.loc[iid, "start_at"]
        rec = g[g["kind"] == "recurring"].sort_values("incurred_at")
        months = rec["incurred_at"].dt.strftime("%Y-%m")
        assert months.is_unique
        stop = iv.loc[iid, "end_at"] if pd.notna(iv.loc[iid, "end_at"]) else END
        expected = pd.period_range(iv.loc[iid, "start_at"].tz_localize(None),
                                   stop.tz_localize(None), freq="M")
        assert months.tolist() == [str(p) for p in expected]
    assert len(co[co["intervention_id"] == "sms_thanks"]) == 1 + 4


def test_followup_coverage_differs_by_segment(big):
    o, f, c = big["orders"], big["followups"], big["customers"]
    d = o[o["delivered_at"].notna() & (o["delivered_at"] < SMS_LO)]
    first = f.groupby("order_id")["sent_at"].min()
    covered = (d["order_id"].map(first) - d["delivered_at"]) <= pd.Timedelta(days=7)
    seg = d["customer_id"].map(c.set_index("customer_id")["segment"])
    cov = covered.groupby(seg).mean()
    for s, target in GROUND_TRUTH["followup_coverage_7d"].items():
        assert abs(cov[s] - target) < 0.03, (s, cov[s])
    assert cov["C"] < cov["B"] < cov["A"]
    per_order = f.groupby("order_id").size()
    assert per_order[per_order.index.isin(d["order_id"])].max() <= 3   # 0..3 organic


def test_checkin_and_sms_followups_are_planted(big):
    o, f, c = big["orders"], big["followups"], big["customers"]
    ci = c.set_index("customer_id")
    seg = o["customer_id"].map(ci["segment"])
    var = o["customer_id"].map(ci["variant"])
    done = o["delivered_at"] + pd.Timedelta(days=5) <= END
    b_post = o[(seg == "B") & (o["delivered_at"] >= CHECKIN) & done]
    sat = f[f["touchpoint"] == "satisfaction_check"].merge(
        o[["order_id", "delivered_at"]], on="order_id")
    sat = sat[(sat["sent_at"] - sat["delivered_at"]).between(
        pd.Timedelta(days=3), pd.Timedelta(days=5))]
    assert b_post["order_id"].isin(sat["order_id"]).all()
    window = o["ordered_at"].between(SMS_LO, SMS_HI) & o["delivered_at"].notna()
    sms = f[(f["touchpoint"] == "thank_you") & (f["channel"] == "sms")].merge(
        o[["order_id", "delivered_at"]], on="order_id")
    quick = sms[(sms["sent_at"] - sms["delivered_at"]) <= pd.Timedelta(hours=6)]
    treated = o[window & (var == "treatment")]
    control = o[window & (var == "control")]
    assert treated["order_id"].isin(quick["order_id"]).all()
    assert control["order_id"].isin(quick["order_id"]).mean() < 0.1


def test_repeat_did_recovers_planted_effect(big):
    """Brief: simple DiD of per-order repeat-within-90-days, B vs others, post vs pre."""
    el = repeat_within_90(big["orders"], big["customers"])
    b, post = el["segment"] == "B", el["ordered_at"] >= CHECKIN
    est = did(el["repeat"], b, post)
    naive = el.loc[b & post, "repeat"].mean() - el.loc[b & ~post, "repeat"].mean()
    print(f"\nrepeat DiD = {est:.4f} (planted 0.08); naive pre/post on B = {naive:.4f}")
    assert abs(est - 0.08) <= 0.03
    assert naive > est + 0.02                         # the common shift biases naive pre/post


def test_planted_effects_on_200k(huge):
    t, _ = huge
    o, c, s, tk = t["orders"], t["customers"], t["surveys"], t["tickets"]
    ci = c.set_index("customer_id")
    el = repeat_within_90(o, c)
    est_rep = did(el["repeat"], el["segment"] == "B", el["ordered_at"] >= CHECKIN)
    a = s[s["csat"].notna()].copy()
    a["high"] = a["csat"] >= 4
    seg = a["customer_id"].map(ci["segment"])
    est_csat = did(a["high"], seg == "B", a["answered_at"] >= CHECKIN)
    win = a[a["answered_at"].between(SMS_LO, SMS_HI)]
    arm = win.groupby(win["customer_id"].map(ci["variant"]))["high"].mean()
    est_sms = arm["treatment"] - arm["control"]
    fr = (tk["first_response_at"] - tk["created_at"]).dt.total_seconds() / 3600
    pre, post = fr[tk["created_at"] < FASTER].median(), fr[tk["created_at"] >= FASTER].median()
    print(f"\n200k: repeat DiD {est_rep:.4f}, csat DiD {est_csat:.4f}, sms A/B {est_sms:.4f}, "
          f"first response median {pre:.2f} h -> {post:.2f} h")
    assert abs(est_rep - 0.08) <= 0.03
    assert abs(est_csat - 0.10) < 0.03
    assert abs(est_sms - 0.06) < 0.025
    assert abs(pre - 6.0) < 0.5
    assert abs(post / pre - 0.70) < 0.05
    # pre-trends parallel: the monthly B-minus-others repeat gap in 2024 has no slope
    pre24 = el[el["ordered_at"] < CHECKIN]
    gap = pre24.groupby([pre24["ordered_at"].dt.month, pre24["segment"] == "B"])[
        "repeat"].mean().unstack()
    diff = gap[True] - gap[False]
    slope = np.polyfit(diff.index.to_numpy(float), diff.to_numpy(float), 1)[0]
    assert abs(slope) < 0.004, slope


def test_experience_drives_behaviour(huge):
    o, c, s, tk = (huge[0][k] for k in ("orders", "customers", "surveys", "tickets"))
    el = repeat_within_90(o, c)
    late = (el["delivered_at"].dt.normalize() > el["promised_at"])
    assert el.loc[late, "repeat"].mean() < el.loc[~late & el["delivered_at"].notna(),
                                                  "repeat"].mean() - 0.03
    od = o.set_index("order_id")
    a = s[s["csat"].notna()]
    a_late = a["order_id"].map(od["delivered_at"].dt.normalize() > od["promised_at"])
    assert a.loc[a_late, "csat"].mean() < a.loc[~a_late, "csat"].mean() - 0.3
    fr = (tk["first_response_at"] - tk["created_at"]).dt.total_seconds() / 3600
    res = (tk["resolved_at"] - tk["created_at"]).dt.total_seconds() / 3600
    bad = tk.loc[(fr > 24) | (res > 72), "ticket_id"]   # slow answer or slow resolution
    ts = a[a["ticket_id"].notna()]
    assert ts.loc[ts["ticket_id"].isin(bad), "csat"].mean() < ts.loc[
        ~ts["ticket_id"].isin(bad), "csat"].mean() - 0.15
    assert (fr > 24).mean() > 0.05 and tk["first_response_at"].isna().any()
    # nps and ces go with csat
    assert a[["csat", "nps"]].astype(float).corr().iloc[0, 1] > 0.6
    assert a[["csat", "ces"]].astype(float).corr().iloc[0, 1] > 0.4


def test_variant_balanced(big):
    share = (big["customers"]["variant"] == "treatment").mean()
    assert 0.48 <= share <= 0.52


def test_comments_templates_languages_and_special_rows(tables, big):
    com = big["surveys"]["comment"].dropna()
    spanish = com.str.contains(r"\b(?:El|La|Nadie|Me|Muy|Mala|Calidad|Tardaron|Atención|"
                               r"Recibí|Agradezco|Esperaba|Entrega)\b", regex=True)
    assert 0.03 <= spanish.mean() <= 0.07
    assert com.str.contains("El envío llegó tarde y nadie respondió", regex=False).any()
    for word in ("delivery", "support", "product", "follow"):
        assert com.str.lower().str.contains(word).any(), word
    assert com.nunique() > 50
    small = tables["surveys"]["comment"].dropna()
    for special in GROUND_TRUTH["special_comments"]:
        assert (small == special).sum() == 1, special
    assert small.str.contains(r"[\w.]+@[\w.]+\.\w+", regex=True).any()
    assert small.str.contains("<script>alert(1)</script>", regex=False).any()
    assert small.str.startswith("=HYPERLINK(").any()


# --------------------------------------------------------------------- write / CLI
def test_write_csv_roundtrip(tables, tmp_path):
    paths = write(tables, tmp_path)
    assert [p.name for p in paths] == [f"{n}.csv" for n in TABLES] + ["ground_truth.json"]
    text = (tmp_path / "orders.csv").read_text()
    assert re.search(r",\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,", text)
    assert "not-a-date" in text
    back = pd.read_csv(tmp_path / "tickets.csv")
    created = pd.to_datetime(back["created_at"], utc=True, format="ISO8601")
    pd.testing.assert_series_equal(created, tables["tickets"]["created_at"],
                                   check_names=False)
    assert len(pd.read_csv(tmp_path / "orders.csv")) == len(tables["orders"])
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["bad_rows"] == GROUND_TRUTH["bad_rows"]
    assert truth["generated"]["row_counts"]["orders"] == len(tables["orders"])


def test_write_parquet_roundtrip(tables, tmp_path):
    write(tables, tmp_path, fmt="parquet")
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"),
                                      tables[name], obj=name)
    with pytest.raises(ValueError):
        write(tables, tmp_path, fmt="xlsx")


def test_cli(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--orders", "300", "--seed", "5",
                 "--format", "parquet", "--no-bad-rows"]) == 0
    orders = pd.read_parquet(tmp_path / "orders.parquet")
    assert len(orders) == 300 and orders["order_id"].is_unique
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["generated"]["seed"] == 5 and truth["generated"]["bad_rows"] is False
    assert "orders.parquet" in capsys.readouterr().out


def test_invalid_arguments():
    with pytest.raises(ValueError):
        generate(0)
    with pytest.raises(ValueError):
        generate(100, start="2025-01-01", end="2024-01-01")


def test_committed_sample_matches_generator(tables):
    folder = ROOT / "data" / "sample"
    if not (folder / "orders.csv").exists():
        pytest.skip("data/sample not generated")
    orders = pd.read_csv(folder / "orders.csv")
    assert orders["order_id"].tolist() == tables["orders"]["order_id"].tolist()
    assert np.allclose(orders["order_value"], tables["orders"]["order_value"])
    for name in TABLES:
        assert len(pd.read_csv(folder / f"{name}.csv")) == len(tables[name]), name
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total < 3_000_000


def test_generate_200k_scale(huge):
    t, seconds = huge
    print(f"\ngenerate(n_orders=200_000): {seconds:.2f} s, "
          + ", ".join(f"{k}={len(v):,}" for k, v in t.items()))
    assert len(t["orders"]) == 200_000
    assert t["orders"]["order_id"].is_unique
    assert 0.5 <= len(t["customers"]) / 200_000 <= 0.7


def test_module_exports():
    assert callable(sample.generate) and callable(sample.write) and callable(sample.main)
    assert set(sample.__all__) >= {"generate", "write", "main", "GROUND_TRUTH"}
