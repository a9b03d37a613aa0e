"""Targets proposed from what the best segments already achieve (Achievable Benchmarks of Care)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS
from gapkit.measure.baseline import unsettled


def propose_targets(kpi_table: pd.DataFrame, segment_by: str, kpis=None, stretch: float = 0.5,
                    top_share: float = 0.10, prior_n: float = 10.0,
                    benchmarks: pd.DataFrame | None = None, current: pd.DataFrame | None = None) -> pd.DataFrame:
    """Targets from the best performers: Achievable Benchmarks of Care, and a stretch target.

    For each KPI, segments of ``segment_by`` are ranked by their value shrunk toward the
    overall value (``prior_n`` pseudo-units, so a tiny segment cannot win on luck); the
    benchmark is the n-weighted (pared) mean of the top segments that together hold at least
    ``top_share`` of the units (Kiefe et al. 1998, ABC). ``stretch`` is the point between
    baseline and benchmark (0.5 = halfway). ``benchmarks`` (columns kpi, value, source), e.g.
    an industry table the user supplies, adds ``external`` and ``external_source`` columns.

    ``current`` (:func:`gapkit.baseline.current_levels`) makes baseline and segments today's
    levels, the figures the goals are judged by; without it the whole history (period "all").
    A KPI where no segment does better than everyone (all at 100%, or all alike) gets no
    proposal: a target equal to today's level is no target. A segment whose median duration
    leaves many more units open than everyone's (:func:`gapkit.baseline.unsettled`) is no
    benchmark (a team that never closes most tickets looks fastest on the few it closes);
    ``left_out`` names it.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.targets.propose_targets(gapkit.kpis(data, "2025-06-30", by=["segment"]), "segment")
                             kpi   baseline  ...  benchmark_n left_out
    ...
    """
    out = []
    source = (current.assign(period="all") if current is not None and len(current) else kpi_table)
    for kpi_id in kpis or source["kpi"].unique():
        kpi = KPIS[kpi_id]
        better = 1 if kpi.better == "higher" else -1
        rows = source[(source["kpi"] == kpi_id) & (source["period"] == "all")]
        overall = rows[rows["segment_by"] == "all"]
        segments = rows[(rows["segment_by"] == segment_by) & (rows["n"] > 0)].copy()
        too_open = unsettled(segments, source)
        left_out, segments = segments[too_open], segments[~too_open]
        if overall.empty or segments.empty:
            continue
        base = float(overall["value"].iloc[0])
        segments["shrunk"] = (segments["n"] * segments["value"] + prior_n * base) / (segments["n"] + prior_n)
        segments = segments.sort_values("shrunk", ascending=better < 0)
        cumulative = segments["n"].cumsum() / segments["n"].sum()
        top = segments[cumulative.shift(fill_value=0) < top_share]
        benchmark = float(np.average(top["value"], weights=top["n"]))
        if not better * (benchmark - base) > 1e-12:
            continue  # nothing better seen anywhere: no target to propose from the data
        out.append({
            "kpi": kpi_id, "baseline": base, "benchmark": benchmark,
            "stretch": base + stretch * (benchmark - base),
            "best_segments": ", ".join(str(s) for s in top["segment"]),
            "benchmark_n": int(top["n"].sum()),
            "left_out": ", ".join(f"{r.segment} ({r.open_share:.0%} still open)" for r in left_out.itertuples()),
        })
    proposals = pd.DataFrame(out)
    if benchmarks is not None and len(benchmarks) and len(proposals):
        external = benchmarks.rename(columns={"value": "external", "source": "external_source"})
        proposals = proposals.merge(external[["kpi", "external", "external_source"]], on="kpi", how="left")
    return proposals
