"""The artifacts of a run: one registry of file names, contract columns and the step that writes each.

The pipeline (which step writes what), publishing (which columns come first and must be there)
and each result's ``to_csv`` (its file name) all take their names from :data:`ARTIFACTS`, so a
file is named in one place. The columns are those ``../shared/CONTRACT.md`` promises, in its
order; a module's own table may carry more after them.

Examples
--------
>>> gapkit.artifacts.columns("gaps.csv")[:4]
('goal_id', 'kpi', 'segment_by', 'segment')
>>> gapkit.artifacts.ARTIFACTS["alerts.csv"].step
'current_state'
"""

from __future__ import annotations

from dataclasses import dataclass

#: the folder, inside a run's staging folder, holding the checked tables and the analysis' own
#: values of each artifact (Parquet), which the later steps read instead of the formula-safe CSVs
VALIDATED = "validated"

#: Beside the report folders, not in one: every run's KPI table (gapkit.monitor.history).
HISTORY = "history.parquet"


@dataclass(frozen=True)
class Artifact:
    """One file a run writes: its name, the step that writes it, what a row is, and its columns."""

    file: str
    step: str
    row: str
    columns: tuple[str, ...]


#: The steps of a run in order, and the notebook that performs each (None: the runner itself).
STEP_NOTEBOOKS = {
    "load": None,
    "current_state": "01_current_state",
    "desired_state": "02_desired_state",
    "gap_identification": "03_gap_identification",
    "impact_measurement": "04_impact_measurement",
    "history": None,
}

_KPI = ("kpi", "period", "segment_by", "segment", "n", "value", "ci_low", "ci_high", "unit", "better")
_CURVE = ("cohort", "segment_by", "segment", "day", "at_risk", "events", "survival", "ci_low", "ci_high")

ARTIFACTS: dict[str, Artifact] = {a.file: a for a in (
    Artifact("rejects.csv", "load", "rejected input value",
             ("table", "row", "column", "value", "reason", "rule")),
    Artifact("row_counts.csv", "load", "input table", ("table", "input_rows", "kept", "rejected")),
    Artifact("kpis.csv", "current_state", "kpi x period x segment", _KPI),
    # each KPI's current level over its recent complete months (baseline_months), for goals and gaps
    Artifact("current.csv", "current_state", "kpi x segment", (*_KPI, "window", "window_months")),
    Artifact("alerts.csv", "current_state", "KPI x segment x month out of control",
             ("kpi", "segment_by", "segment", "period", "value", "center", "lower_limit", "upper_limit", "rule",
              "direction")),
    Artifact("retention.csv", "current_state", "cohort x segment x day", _CURVE),
    Artifact("churn.csv", "current_state", "cohort x segment x day", (*_CURVE, "churn_days")),
    Artifact("drivers.csv", "desired_state", "driver x outcome KPI",
             ("driver", "kpi", "importance", "importance_ci_low", "importance_ci_high", "p_value", "n")),
    Artifact("goals.csv", "desired_state", "goal",
             ("goal_id", "kpi", "segment_by", "segment", "baseline", "target", "deadline", "specific", "measurable",
              "attainable", "relevant", "time_bound", "reason")),
    Artifact("milestones.csv", "desired_state", "goal x month", ("goal_id", "month", "expected")),
    Artifact("gaps.csv", "gap_identification", "goal or KPI target",
             ("goal_id", "kpi", "segment_by", "segment", "n", "current", "ci_low", "ci_high", "target", "gap",
              "gap_rel", "p_value", "p_adj", "status", "importance", "priority", "rank")),
    Artifact("action_plan.csv", "gap_identification", "significant shortfall",
             ("rank", "goal_id", "kpi", "segment_by", "segment", "gap", "evidence", "action", "expected_value")),
    Artifact("impact.csv", "impact_measurement", "intervention x kpi x method",
             ("intervention_id", "kpi", "method", "effect", "ci_low", "ci_high", "p_value", "relative_effect",
              "n_treated", "n_control")),
    Artifact("cost_benefit.csv", "impact_measurement", "intervention",
             ("intervention_id", "cost_pv", "benefit_pv", "npv", "npv_ci_low", "npv_ci_high", "roi",
              "payback_months")),
    Artifact("goal_progress.csv", "impact_measurement", "goal",
             ("goal_id", "kpi", "current", "target", "deadline", "status")),
)}


def columns(file: str) -> tuple[str, ...]:
    """The contract's columns of ``file``, in order (empty for a file that is no artifact)."""
    artifact = ARTIFACTS.get(file)
    return artifact.columns if artifact is not None else ()


def maker(file: str) -> str | None:
    """The notebook (or "gapkit run" for the load step) that writes ``file``; None if no step does."""
    artifact = ARTIFACTS.get(file)
    if artifact is None:
        return None
    return STEP_NOTEBOOKS[artifact.step] or "gapkit run"


def written_by(step: str) -> tuple[str, ...]:
    """The artifacts ``step`` writes, in registry order."""
    return tuple(a.file for a in ARTIFACTS.values() if a.step == step)
