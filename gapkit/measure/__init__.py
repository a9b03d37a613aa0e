"""The current state: KPI definitions written once, the engines that aggregate them (pandas,
DuckDB, Spark), their intervals, business hours and each KPI's current level (baseline).

``gapkit.measure.kpis`` and ``units`` are the engine's entry points (also ``gapkit.kpis``).
"""

from gapkit.measure.engine import KPI_COLUMNS, OPEN_SHARE_LIMIT, empty_kpi_table, kpis, segment_labels, units

__all__ = ["KPI_COLUMNS", "OPEN_SHARE_LIMIT", "empty_kpi_table", "kpis", "segment_labels", "units"]
