"""Metric values on cases worked out by hand (the working is in the comments)."""
import json

import numpy as np
import pytest

from score import metrics
from score.bin import compute_metrics


def test_error_rates_and_eer_simple():
    # sorted: 0.2 n, 0.4 t, 0.5 n, 0.9 t. Accept s >= thr:
    # thr 0.2: miss 0/2, fa 2/2 | 0.4: 0, 1/2 | 0.5: 1/2, 1/2 | 0.9: 1/2, 0 | inf: 1, 0
    s = np.array([0.9, 0.2, 0.5, 0.4])
    t = np.array([1, 0, 0, 1], bool)
    p_miss, p_fa, thr = metrics.error_rates(s, t)
    np.testing.assert_allclose(p_miss, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(p_fa, [1, 0.5, 0.5, 0, 0])
    np.testing.assert_allclose(thr, [0.2, 0.4, 0.5, 0.9, np.inf])
    assert metrics.eer(s, t) == pytest.approx(0.5)
    # minDCF(p=0.01) = min(0.01*pm + 0.99*pfa) / 0.01: best is pm=.5, pfa=0 -> 0.005 / 0.01
    assert metrics.min_dcf(s, t, 0.01) == pytest.approx(0.5)
    # p=0.5: costs 0.5*(pm+pfa) = .5, .25, .5, .25, .5 -> 0.25 / 0.5
    assert metrics.min_dcf(s, t, 0.5) == pytest.approx(0.5)


def test_ties_are_one_threshold_step():
    # A target and a nontarget tie at 1.0; they must be accepted or rejected together.
    # targets 1, 2 ; nontargets 0, 1.  Steps: thr 0: (0, 1) | thr 1: (0, 1/2) | thr 2: (1/2, 0) | inf: (1, 0)
    s = np.array([1.0, 2.0, 0.0, 1.0])
    t = np.array([1, 1, 0, 0], bool)
    p_miss, p_fa, _ = metrics.error_rates(s, t)
    np.testing.assert_allclose(p_miss, [0, 0, 0.5, 1])
    np.testing.assert_allclose(p_fa, [1, 0.5, 0, 0])
    # Crossing between (0, .5) and (.5, 0): linear interpolation meets at .25.
    assert metrics.eer(s, t) == pytest.approx(0.25)
    # Order of tied trials in the input must not matter.
    assert metrics.eer(s[::-1], t[::-1]) == pytest.approx(0.25)


def test_perfect_and_reversed():
    s = np.array([0.0, 1.0, 2.0, 3.0])
    assert metrics.eer(s, np.array([0, 0, 1, 1], bool)) == 0.0
    assert metrics.eer(s, np.array([1, 1, 0, 0], bool)) == pytest.approx(1.0)
    assert metrics.min_dcf(s, np.array([0, 0, 1, 1], bool), 0.01) == 0.0


def test_act_dcf_and_cllr():
    # Bayes threshold at p=0.5 is 0: targets [2, -1] -> miss 1/2; nontargets [-2, 1] -> fa 1/2.
    s = np.array([2.0, -1.0, -2.0, 1.0])
    t = np.array([1, 1, 0, 0], bool)
    assert metrics.act_dcf(s, t, 0.5) == pytest.approx(1.0)  # (.5*.5 + .5*.5) / .5
    # Cllr = (mean log2(1+e^-s_tar) + mean log2(1+e^s_non)) / 2
    c = (np.log2(1 + np.exp(-2)) + np.log2(1 + np.exp(1))) / 2
    n = (np.log2(1 + np.exp(-2)) + np.log2(1 + np.exp(1))) / 2
    assert metrics.cllr(s, t) == pytest.approx((c + n) / 2)
    # All-zero LLRs carry no information: Cllr = 1 bit exactly.
    assert metrics.cllr(np.zeros(4), t) == pytest.approx(1.0)


def test_pav_and_min_cllr():
    np.testing.assert_allclose(metrics.pav(np.array([1, 3, 2, 4.0])), [1, 2.5, 2.5, 4])
    np.testing.assert_allclose(metrics.pav(np.array([0, 1, 0, 0, 1.0])), [0, 1 / 3, 1 / 3, 1 / 3, 1])
    rng = np.random.default_rng(0)
    t = rng.random(400) < 0.3
    s = rng.normal(size=400) + 2 * t
    assert metrics.min_cllr(s, t) <= metrics.cllr(s, t) + 1e-12
    # Perfectly separated scores can be recalibrated to zero cost.
    assert metrics.min_cllr(np.r_[np.zeros(3), np.ones(3)], np.r_[[False] * 3, [True] * 3]) < 1e-6


def test_bad_input():
    with pytest.raises(ValueError, match="NaN or inf"):
        metrics.eer(np.array([np.nan, 1.0]), np.array([1, 0], bool))
    with pytest.raises(ValueError, match="at least one target"):
        metrics.eer(np.array([0.0, 1.0]), np.array([1, 1], bool))


def test_cli_join_and_errors(tmp_path, capsys):
    trials, scores = tmp_path / "trials", tmp_path / "scores"
    trials.write_text("a x target\na y nontarget\nb x nontarget\nb y target\n")
    scores.write_text("b y 0.4\na x 0.9\nb x 0.5\na y 0.2\n")  # another order: joined by pair
    assert compute_metrics.main(["--trials", str(trials), "--scores", str(scores), "--json", "true"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["eer"] == pytest.approx(50.0) and res["minDCF(p=0.01)"] == pytest.approx(0.5)
    assert compute_metrics.main(["--trials", str(trials), "--scores", str(scores)]) == 0
    assert capsys.readouterr().out.startswith("EER=50.000% minDCF(p=0.01)=0.5000")
    scores.write_text("a x 0.9\na y 0.2\nb x 0.5\n")
    assert compute_metrics.main(["--trials", str(trials), "--scores", str(scores)]) == 1
    assert "no score for trial pair b y" in capsys.readouterr().err
    scores.write_text("a x 0.9\na y 0.2\nb x 0.5\nb y 0.4\nc z 1.0\n")
    assert compute_metrics.main(["--trials", str(trials), "--scores", str(scores)]) == 1
    assert "c z has no trial" in capsys.readouterr().err
    trials.write_text("")
    assert compute_metrics.main(["--trials", str(trials), "--scores", str(scores)]) == 1
    assert "empty trial list" in capsys.readouterr().err
