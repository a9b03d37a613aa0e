"""Degenerate data is named, not drawn: each section says what the data cannot support."""

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.desired import targets
from gapkit.errors import InputError
from gapkit.report import adapt, story

AS_OF = "2025-06-30"


def one_order_each(customers=300, seed=0):
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2024-07-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 360, customers), unit="D")
    orders = pd.DataFrame({"order_id": [f"o{i}" for i in range(customers)],
                           "customer_id": [f"c{i}" for i in range(customers)], "ordered_at": days,
                           "delivered_at": days + pd.Timedelta(days=3)})
    region = pd.DataFrame({"customer_id": orders["customer_id"], "region": rng.choice(["N", "S"], customers)})
    return gapkit.validate({"orders": orders, "customers": region})


def test_one_order_per_customer_draws_no_retention_and_fits_no_driver_model():
    data = one_order_each()
    with pytest.raises(InputError, match="none of the 300 customers has ordered a second time"):
        gapkit.monitor.retention(data, AS_OF)
    shown = adapt.attempt("Retention", "who comes back", "export a longer history", gapkit.monitor.retention,
                          data, AS_OF)
    assert isinstance(shown, adapt.Skipped) and "second time" in shown.sentence()
    followups = pd.DataFrame({"followup_id": ["f1"], "order_id": ["o1"], "customer_id": ["c1"],
                              "sent_at": ["2024-08-01"]})
    with_followups = gapkit.validate({**{k: data[k] for k in ("orders", "customers")}, "followups": followups})
    with pytest.raises(InputError, match="no experience can be related"):
        gapkit.drivers.key_drivers(with_followups, AS_OF)


def test_a_constant_kpi_is_no_headline_and_no_segment_finding():
    data = one_order_each()
    table = gapkit.kpis(data, AS_OF, by=["region"], period="M")
    lines = story.current_state_findings(table, data.counts, ["region"])
    assert not any("Repeat purchase rate" in line for line in lines)  # 0.0% (0.0% to 0.0%) says nothing
    assert lines[-1].startswith("Data: ")


def test_a_proposed_target_is_never_todays_level():
    rows = pd.DataFrame([{"kpi": "followup_coverage", "period": "all", "segment_by": by, "segment": s, "n": 100,
                          "value": 1.0, "ci_low": 0.96, "ci_high": 1.0}
                         for by, s in (("all", "all"), ("region", "N"), ("region", "S"))])
    assert targets.propose_targets(rows, "region").empty  # everyone at 100%: nothing better to aim at


def test_alerts_with_nothing_to_check_say_so():
    result = gapkit.monitor.alerts(pd.DataFrame(columns=["kpi", "period", "segment_by", "segment", "n", "value",
                                                         "ci_low", "ci_high"]), AS_OF)
    assert result.summary().startswith("No month could be checked")


def test_every_artifact_keeps_its_header_when_it_has_no_rows(tmp_path):
    from gapkit.report import publish

    for name, columns in publish.ARTIFACT_COLUMNS.items():
        publish.write_csv(pd.DataFrame(), tmp_path, name)
        assert list(pd.read_csv(tmp_path / name).columns) == columns, name
