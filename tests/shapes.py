"""Contract-valid data of many shapes, derived from generated data, for the end-to-end matrix.

Each shape is what a real export might look like: only the required table, no customer
attributes, no delivery columns, a single month, thirty orders, date-only timestamps, numeric
segment labels... Every one of them is valid under the contract, so ``gapkit run`` must finish
on each and say what it skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gapkit.sample import generate

AS_OF = "2025-06-30"
OPTIONAL = ("customers", "followups", "tickets", "surveys", "referrals", "interventions", "costs")


def _base(n_orders: int = 500, start: str = "2024-01-01", end: str = AS_OF) -> dict[str, pd.DataFrame]:
    return generate(n_orders=n_orders, seed=11, start=start, end=end, bad_rows=False)


def _drop(tables, *names):
    return {k: v for k, v in tables.items() if k not in names}


def orders_only():
    return _drop(_base(), *OPTIONAL)


def no_customers():
    return _drop(_base(), "customers")


def customers_without_segment_columns():
    tables = _base()
    tables["customers"] = tables["customers"][["customer_id"]]
    return tables


def tickets_without_delivery_columns():
    tables = _drop(_base(), "followups", "surveys", "referrals", "interventions", "costs")
    tables["orders"] = tables["orders"][["order_id", "customer_id", "ordered_at", "order_value"]]
    tables["tickets"] = tables["tickets"].drop(columns=["order_id"])  # as a help desk exports them
    return tables


def surveys_without_comments():
    tables = _base()
    tables["surveys"] = tables["surveys"].drop(columns=["comment"])
    return tables


def comments_not_in_english():
    tables = _base()
    phrases = np.array(["Entrega rápida, muito bom", "Produto chegou quebrado, péssimo atendimento",
                        "Sehr zufrieden mit dem Service", "Livraison en retard, je suis déçu"])
    surveys = tables["surveys"]
    has = surveys["answered_at"].notna().to_numpy()
    comment = np.where(has, phrases[np.arange(len(surveys)) % len(phrases)], None)
    tables["surveys"] = surveys.assign(comment=comment)
    return tables


def no_followups():
    return _drop(_base(), "followups")


def no_interventions():
    return _drop(_base(), "interventions", "costs")


def interventions_without_costs():
    return _drop(_base(), "costs")


def single_month():
    return _base(n_orders=300, start="2025-06-01", end=AS_OF)


def thirty_orders():
    return _base(n_orders=30)


def date_only_timestamps():
    tables = _base()
    for frame in tables.values():
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    return tables


def numeric_and_float_segment_labels():
    tables = _base()
    customers = tables["customers"]
    customers["segment"] = customers["segment"].map({"A": 1, "B": 2, "C": 3})
    customers["region"] = customers["region"].map({"north": 1.0, "south": 2.5, "east": 3.0, "west": 4.0})
    interventions = tables["interventions"]
    interventions.loc[interventions["segment"] == "B", "segment"] = "2"
    return tables


def segment_with_missing_values():
    tables = _base()
    customers = tables["customers"]
    customers.loc[customers.index % 4 == 0, "segment"] = None
    return tables


SHAPES = {f.__name__: f for f in (
    orders_only, no_customers, customers_without_segment_columns, tickets_without_delivery_columns,
    surveys_without_comments, comments_not_in_english, no_followups, no_interventions,
    interventions_without_costs, single_month, thirty_orders, date_only_timestamps,
    numeric_and_float_segment_labels, segment_with_missing_values,
)}


# the configuration each shape runs with (default: none at all, as a new user starts)
CONFIGS = {
    "interventions_without_costs": {"valuation": [
        {"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 60.0,
         "horizon_months": 24, "discount_rate": 0.10}]},
    "numeric_and_float_segment_labels": {"goals": [
        {"id": "coverage-2", "kpi": "followup_coverage", "segment_by": "segment", "segment": 2, "target": 0.9,
         "deadline": "2025-12-31"},
        {"id": "csat-all", "kpi": "csat", "target": 0.8, "deadline": "2025-12-31"}]},
}


def write_shape(name: str, folder: Path) -> Path:
    """Write the tables of shape ``name`` as CSV into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in SHAPES[name]().items():
        frame.to_csv(folder / f"{table}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return folder


def run_shapes(names: list[str], folder: Path) -> None:
    """Write and ``gapkit run`` each shape in one shared kernel; ``<shape>/status.txt`` says how it went."""
    import traceback

    from gapkit import config as configuration
    from gapkit.pipeline import runner
    from gapkit.pipeline._kernel import SharedKernel

    kernel = SharedKernel(runner.NOTEBOOK_DIR)
    try:
        for name in names:
            data = write_shape(name, folder / name / "data")
            config = None
            if name in CONFIGS:  # the notebooks read the configuration from its file
                config = folder / name / "gapkit.yml"
                config.write_text(yaml.safe_dump(CONFIGS[name]))
            settings = configuration.read(config, data=str(data), as_of=AS_OF, out=str(folder / name / "report"))
            try:
                runner.run(settings, progress=lambda _: None, kernel=kernel)
                status = "ok"
            except Exception:  # recorded for the test to show, not swallowed
                status = traceback.format_exc()
            (folder / name / "status.txt").write_text(status)
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    import sys

    run_shapes(sys.argv[2:], Path(sys.argv[1]))
