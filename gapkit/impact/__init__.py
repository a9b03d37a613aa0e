"""Impact measurement and cost-benefit: did a follow-up strategy move a KPI (difference-in-
differences, interrupted time series, A/B test), and was it worth its cost (``money``: NPV,
ROI, payback; ``sensitivity``: what the verdict rests on).

``gapkit.impact.measure`` is the entry point (module ``effects``).
"""

from gapkit.impact.effects import (
    EXTRA_COLUMNS,
    IMPACT_COLUMNS,
    METHOD_NAMES,
    SERIES_COLUMNS,
    WHY,
    ImpactResult,
    Intervention,
    finding,
    measure,
    method_name,
    read_interventions,
)

__all__ = ["EXTRA_COLUMNS", "IMPACT_COLUMNS", "METHOD_NAMES", "SERIES_COLUMNS", "WHY", "ImpactResult", "Intervention",
           "finding", "measure", "method_name", "read_interventions"]
