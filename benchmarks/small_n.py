"""Coverage of gapkit's 95% intervals at small n, by simulation: where MIN_N and SMALL_N come from.

Runs the engine's own interval code (gapkit.kpis on generated surveys) for realistic score
distributions and prints the share of intervals that cover the true value. Rows below
``gapkit.kpi_catalog.MIN_N`` get no interval; rows below ``SMALL_N`` are flagged small_n.

    python benchmarks/small_n.py            # 2,000 samples per cell (about a minute)
    python benchmarks/small_n.py --reps 200
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import gapkit
from gapkit.contract.catalog import MIN_N, SMALL_N

AS_OF = "2025-06-30"
CSAT = {"typical": [.05, .08, .15, .35, .37], "happy": [.02, .03, .05, .20, .70], "split": [.30, .10, .10, .10, .40]}
NPS = {"typical": (.45, .25), "high": (.70, .10), "polar": (.40, .40)}  # (promoters, detractors)


def _coverage(scores: np.ndarray, kpi: str, truth: float) -> float:
    """Share of the rows' intervals covering ``truth``; each row of ``scores`` is one sample."""
    reps, n = scores.shape
    column = "nps" if kpi == "nps" else "csat"
    surveys = pd.DataFrame({"response_id": [f"r{i}" for i in range(reps * n)], "customer_id": "c",
                            "sent_at": "2025-01-01", "answered_at": "2025-01-02", column: scores.ravel(),
                            "team": np.repeat([f"t{i}" for i in range(reps)], n)})
    orders = pd.DataFrame({"order_id": ["o"], "customer_id": ["c"], "ordered_at": ["2024-12-01"]})
    table = gapkit.kpis(gapkit.validate({"orders": orders, "surveys": surveys}), AS_OF, by=["team"], kpis=[kpi])
    rows = table[table["segment_by"] == "team"]
    return float(((rows["ci_low"] <= truth) & (truth <= rows["ci_high"])).mean())


def main(reps: int) -> None:
    rng = np.random.default_rng(7)
    print(f"coverage of the 95% interval ({reps} samples per cell); MIN_N {MIN_N}, SMALL_N {SMALL_N}")
    for name, p in CSAT.items():
        truth = float(np.dot(np.arange(1, 6), p))
        cells = [f"n={n}: {_coverage(rng.choice(np.arange(1, 6), size=(reps, n), p=p), 'csat_mean', truth):.3f}"
                 for n in (5, 10, 20, 30, 50)]
        print(f"csat_mean {name:<8}", "  ".join(cells))
        share = p[3] + p[4]
        cells = [f"n={n}: {_coverage(rng.choice(np.arange(1, 6), size=(reps, n), p=p), 'csat', share):.3f}"
                 for n in (2, 5, 10, 30)]
        print(f"csat      {name:<8}", "  ".join(cells))
    for name, (promoters, detractors) in NPS.items():
        truth = 100 * (promoters - detractors)
        draw = lambda n: rng.choice([10, 7, 3], size=(reps, n), p=[promoters, 1 - promoters - detractors,  # noqa: E731
                                                                   detractors])
        cells = [f"n={n}: {_coverage(draw(n), 'nps', truth):.3f}" for n in (10, 20, 30, 50)]
        print(f"nps       {name:<8}", "  ".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    main(parser.parse_args().reps)
