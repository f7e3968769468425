"""common.eer, the one EER shared by score.metrics (evaluation) and the CM / SASV trainers (dev-set model
selection): cases by hand, the checks on bad input, and score.metrics serving this very code."""
from __future__ import annotations

import numpy as np
import pytest

from common import eer as common_eer
from common.eer import eer


def test_eer_by_hand():
    # positives 0.9 0.6 0.3, negatives 0.7 0.2 0.1: one miss and one false alarm at threshold 0.65 -> 1/3.
    s = np.array([0.9, 0.6, 0.3, 0.7, 0.2, 0.1])
    assert eer(s, np.array([1, 1, 1, 0, 0, 0], bool)) == pytest.approx(1 / 3)
    # positives 0.9 0.6, negatives 0.7 0.3 0.2 0.1. Steps (P_miss, P_fa): accept >= 0.6 (0, 1/4), then
    # accept >= 0.7 (1/2, 1/4): P_miss jumps past P_fa, which stays at 1/4, so they meet at 1/4.
    assert eer(s, np.array([1, 1, 0, 0, 0, 0], bool)) == pytest.approx(0.25)
    assert eer(np.array([2.0, 1.0]), np.array([True, False])) == 0.0
    # All scores tied: one step from (0, 1) to (1, 0), crossing at 1/2.
    assert eer(np.zeros(4), np.array([1, 0, 1, 0], bool)) == pytest.approx(0.5)


@pytest.mark.parametrize("scores, labels, msg", [
    ([1.0], [True], "at least one target and one nontarget"),
    ([1.0, 2.0], [False, False], "at least one target and one nontarget"),
    ([1.0, 2.0, 3.0], [True, False], "differ in length"),
    ([1.0, np.nan], [True, False], "NaN or inf"),
])
def test_bad_trials_are_refused(scores, labels, msg):
    with pytest.raises(ValueError, match=msg):
        eer(np.array(scores), np.array(labels))


def test_score_metrics_serves_the_common_code():
    from score import metrics
    for name in ("eer", "eer_from_rates", "error_rates"):
        assert getattr(metrics, name) is getattr(common_eer, name)
