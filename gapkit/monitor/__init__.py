"""The current state over time: the KPI history across runs (``history``), control-chart alerts
(``alerts``), and Kaplan-Meier curves of customers coming back or lapsing (``retention``).

Examples
--------
>>> data = gapkit.load("data/sample")
>>> monthly = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")
>>> gapkit.monitor.alerts(monthly, "2025-06-30").table.head()
>>> gapkit.monitor.retention(data, "2025-06-30", by=["segment"]).table.head()
"""

from gapkit.config import MONITOR_DEFAULTS
from gapkit.contract.artifacts import HISTORY
from gapkit.monitor.alerts import ALERT_COLUMNS, AlertResult, alerts
from gapkit.monitor.history import append_history, history, history_path, revisions, show_revisions, write_history_aside
from gapkit.monitor.retention import (
    RETENTION_COLUMNS,
    RETENTION_DAYS,
    RetentionResult,
    churn_durations,
    repeat_durations,
    retention,
)

__all__ = ["ALERT_COLUMNS", "HISTORY", "MONITOR_DEFAULTS", "RETENTION_COLUMNS", "RETENTION_DAYS", "AlertResult",
           "RetentionResult", "alerts", "append_history", "churn_durations", "history", "history_path",
           "repeat_durations", "retention", "revisions", "show_revisions", "write_history_aside"]
