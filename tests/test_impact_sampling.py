"""Past ``max_units``, impact designs are estimated on a seeded random sample of whole customers."""

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.analysis._sampling import of_customers

AS_OF = "2025-06-30"


def test_a_customer_sample_keeps_every_unit_of_the_customers_it_draws():
    units = pd.DataFrame({"customer_id": np.repeat([f"C{i:05d}" for i in range(5000)], 4), "value": 1.0})
    picked, note = of_customers(units, 4000, seed=1)
    per_customer = picked.groupby("customer_id").size()
    assert (per_customer == 4).all()  # whole customers
    assert 3000 < len(picked) < 5000  # about max_units: each customer kept with probability 4000/20000
    again, _ = of_customers(units, 4000, seed=1)
    pd.testing.assert_frame_equal(picked, again)  # seeded
    assert f"of a random sample of {len(per_customer):,} of the 5,000 customers" in note
    assert "20,000 units in all; seed 1" in note
    assert of_customers(units, 20_000, seed=1) == (units, "")  # small enough: every unit, no note
    with pytest.raises(gapkit.ConfigError, match="max_units"):
        of_customers(units, 0, seed=1)


def test_units_without_customers_are_sampled_one_by_one():
    units = pd.DataFrame({"ticket_id": range(10_000), "value": 1.0})
    picked, note = of_customers(units, 1000, seed=0)
    assert 800 < len(picked) < 1200 and note.startswith(f"estimated on a random sample of {len(picked):,} units")


def test_impact_on_a_sample_says_so_and_its_intervals_hold_the_estimate_from_every_unit():
    data = gapkit.datasets.sample()
    full = gapkit.impact.measure(data, AS_OF, ["repeat_purchase_rate"], max_units=None).table
    part = gapkit.impact.measure(data, AS_OF, ["repeat_purchase_rate"], max_units=1500, seed=3).table
    assert not full["note"].fillna("").str.contains("random sample").any()
    estimated = part[np.isfinite(part["effect"].astype(float))]
    assert len(estimated) and estimated["note"].str.contains("random sample of").all()
    both = full.merge(part, on=["intervention_id", "kpi", "method"], suffixes=("", "_sample"))
    both = both[np.isfinite(both["effect"].astype(float)) & np.isfinite(both["effect_sample"].astype(float))]
    assert len(both)
    assert (both["n_treated_sample"] + both["n_control_sample"] < both["n_treated"] + both["n_control"]).all()
    # the sample's interval holds the estimate from every unit (a random sample of the same customers)
    assert ((both["ci_low_sample"] <= both["effect"]) & (both["effect"] <= both["ci_high_sample"])).all()


def test_a_kpis_sample_is_said_once_above_the_table_not_under_every_row():
    result = gapkit.impact.measure(gapkit.datasets.sample(), AS_OF, ["csat", "repeat_purchase_rate"], max_units=1500,
                                   seed=3)
    sampled = result.table[result.table["kpi"] == "repeat_purchase_rate"]
    assert len(sampled) >= 4 and sampled["note"].str.contains("random sample of").all()  # impact.csv keeps it per row
    assert len(result.samples()) == 1 and result.samples()[0].startswith("Repeat purchase rate: estimated on ")
    page = result._repr_html_()
    assert page.count("random sample of") == 1
    assert sum("random sample of" in line for line in result.footnotes()) == 1
