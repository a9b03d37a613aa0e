"""What the data holds decides columns and sections: small tables checked by hand."""

import pandas as pd
import pytest

import gapkit
from gapkit.errors import ConfigError, InputError
from gapkit.report import adapt
from gapkit.sample import generate


def tables(**frames):
    return {name: pd.DataFrame(frame) for name, frame in frames.items()}


def test_segments_come_from_segment_like_customer_columns_and_channel_never_from_ids():
    data = tables(
        orders={"order_id": list("abcdef"), "customer_id": list("uvwxyz"), "channel": ["web", "app"] * 3},
        customers={"customer_id": list("uvwxyz"), "region": ["NA", "EU", "NA", "EU", "NA", "EU"],
                   "email": [f"{c}@x.org" for c in "uvwxyz"], "plan": ["gold"] * 6})
    # email is id-like (one value per customer), plan does not vary
    assert adapt.segment_columns(data) == ["region", "channel"]
    assert adapt.segment_columns(data, ["plan"]) == ["plan"]
    with pytest.raises(ConfigError, match="'tier'"):
        adapt.segment_columns(data, ["tier"])
    assert adapt.driver_controls(data) == ["region", "period"]
    assert adapt.journey_by(data) == "region"
    assert adapt.segment_columns(tables(orders={"order_id": ["a"], "customer_id": ["u"]})) == []


def test_comparisons_pair_kpis_with_columns_that_split_them():
    rows = [("csat", "all", "all"), ("csat", "region", "NA"), ("csat", "region", "EU"),
            ("nps", "channel", "web")]  # nps has one channel only: nothing to compare
    table = pd.DataFrame([{"kpi": k, "period": "all", "segment_by": b, "segment": s} for k, b, s in rows])
    assert adapt.comparisons(table) == [("csat", "region")]
    assert adapt.comparisons(table, [("nps", "channel"), ("csat", "region")]) == [("csat", "region")]


def test_a_skipped_section_says_what_is_missing_what_it_would_show_and_how_to_add_it():
    data = tables(orders={"order_id": ["a"], "customer_id": ["u"]})
    skipped = adapt.requires(data, {"surveys": ["comment"]}, "Comments", "what customers say", "export surveys.csv")
    assert skipped.sentence() == ("Comments is not shown: there is no surveys table. It would show what customers "
                                  "say. To add it: export surveys.csv.")
    assert "&lt;" in adapt.Skipped("<b>x</b>", "y")._repr_html_()
    assert skipped.table.empty and skipped.plot() is None


def test_attempt_turns_only_gapkits_own_errors_into_a_skip():
    def cannot():
        raise InputError("no interventions table")

    def broken():
        raise ZeroDivisionError

    assert adapt.attempt("Impact", "effects", "add it", cannot).reason == "no interventions table"
    with pytest.raises(ZeroDivisionError):
        adapt.attempt("Impact", "effects", "add it", broken)


def test_key_drivers_drop_chosen_controls_until_the_model_fits_and_say_so():
    data = gapkit.validate(generate(n_orders=500, seed=11, bad_rows=False))
    result = adapt.key_drivers(data, "2025-06-30", n_boot=20)
    assert "period" not in result.controls
    assert any("left out" in note and "period" in note for note in result.notes)
    with pytest.raises(gapkit.errors.TooFewUnits):  # configured controls are never dropped silently
        adapt.key_drivers(data, "2025-06-30", ["segment", "region", "persona", "period"], n_boot=20)


def test_configured_columns_are_checked_against_the_file_headers(tmp_path):
    pd.DataFrame({"order_id": ["a"], "customer_id": ["u"], "ordered_at": ["2025-01-01"]}).to_csv(
        tmp_path / "orders.csv", index=False)
    adapt.check_columns(gapkit.config.from_dict({"segments": ["order_id"]}), tmp_path)
    with pytest.raises(ConfigError, match="journey.by: 'plan'"):
        adapt.check_columns(gapkit.config.from_dict({"journey": {"by": "plan"}}), tmp_path)
