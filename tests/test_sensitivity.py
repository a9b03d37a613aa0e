"""gapkit.sensitivity: the tornado on a hand-built appraisal, and the intangibles' checks."""

import numpy as np
import pytest

from gapkit.errors import ConfigError
from gapkit.impact import sensitivity
from gapkit.impact.appraisal import Appraisal, Benefit


def appraisal(effect=0.1, iid="x"):
    # 100 units a month worth 25 each per +1.0, for 12 months, undiscounted: effect 0.1 -> 3000
    benefit = Benefit("k", effect, effect - 0.1, effect + 0.1, "did", 100.0, 25.0, 12)
    return Appraisal(iid, one_off=1000.0, run_rate=0.0, discount_rate=0.0, benefits=(benefit,))


def test_tornado_moves_one_input_at_a_time_by_hand():
    table = sensitivity.tornado_table([appraisal()])
    assert list(table.columns) == sensitivity.SENSITIVITY_COLUMNS
    table = table.set_index("factor")
    assert table["npv_base"].eq(2000.0).all()
    assert (table.loc["effect (95% CI ends)", "npv_low"], table.loc["effect (95% CI ends)", "npv_high"]) == (
        pytest.approx(-1000.0), pytest.approx(5000.0))
    assert table.loc["horizon (+-50%)", "npv_low"] == pytest.approx(0.1 * 100 * 25 * 6 - 1000)
    assert table.loc["discount rate (0 and 2x)", "swing"] == pytest.approx(0.0)  # 2 x 0 is still 0


def test_tornado_skips_appraisals_without_an_effect_and_keeps_their_order():
    table = sensitivity.tornado_table([appraisal(iid="b"), appraisal(effect=np.nan, iid="n"), appraisal(iid="a")])
    assert table["intervention_id"].unique().tolist() == ["b", "a"]
    assert (table.groupby("intervention_id")["swing"].diff().dropna() <= 1e-9).all()


def test_intangibles_are_scored_and_checked():
    scores = [{"intervention_id": "x", "factor": "trust", "score": 1, "weight": 0.5}]
    table = sensitivity.intangibles(scores)
    assert table["weighted_score"].tolist() == [0.5] and list(table.columns) == sensitivity.INTANGIBLE_COLUMNS
    with pytest.raises(ConfigError, match="-2"):
        sensitivity.intangibles([{"intervention_id": "x", "factor": "trust", "score": 3}])
    with pytest.raises(ConfigError, match="weight"):
        sensitivity.intangibles([{"intervention_id": "x", "factor": "trust", "score": 1, "weight": "much"}])

