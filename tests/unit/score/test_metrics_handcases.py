"""More metric cases by hand (ties, actDCF, minCllr) and a brute-force threshold sweep with many ties."""
import numpy as np
import pytest

from score import metrics


def test_min_dcf_ties_are_one_step():
    # targets {2, 1}, nontargets {1, 0}; the target and nontarget at 1 are accepted or rejected together.
    # Steps (P_miss, P_fa): thr 0 (0, 1) | thr 1 (0, 1/2) | thr 2 (1/2, 0) | inf (1, 0).
    # p = 0.5: DCF = 0.5 (P_miss + P_fa) = .5, .25, .25, .5 -> min .25, normalised by 0.5 -> 0.5.
    # (Splitting the tie target-first would invent the point (0, 0) and give 0.)
    s = np.array([2.0, 1.0, 1.0, 0.0])
    t = np.array([1, 1, 0, 0], bool)
    assert metrics.min_dcf(s, t, 0.5) == pytest.approx(0.5)
    assert metrics.min_dcf(s[[1, 2, 0, 3]], t[[1, 2, 0, 3]], 0.5) == pytest.approx(0.5)
    # p = 0.01: DCF = .01 P_miss + .99 P_fa = .99, .495, .005, .01 -> .005 / .01 = 0.5
    assert metrics.min_dcf(s, t, 0.01) == pytest.approx(0.5)


def test_act_dcf_hand():
    # p = 0.01: Bayes threshold log(0.99 / 0.01) = log 99 = 4.595.
    # targets 5 (accepted), 4 (missed) -> P_miss 1/2; nontargets -1 (rejected), 4.6 (false alarm) -> P_fa 1/2.
    # DCF = .01 * .5 + .99 * .5 = .5, normalised by min(.01, .99) = .01 -> 50.
    s = np.array([5.0, 4.0, -1.0, 4.6])
    t = np.array([1, 1, 0, 0], bool)
    assert metrics.act_dcf(s, t, 0.01) == pytest.approx(50.0)


def test_min_cllr_hand():
    # Scores 0 n, 1 t, 2 n, 3 t. PAV of the labels in score order [0, 1, 0, 1] -> [0, .5, .5, 1].
    # Prior log odds log(2/2) = 0, so the optimal LLRs are [-inf, 0, 0, +inf].
    # Targets: LLR 0 costs log2(2) = 1, +inf costs 0 -> mean .5; nontargets: -inf 0, 0 -> 1 -> mean .5.
    # minCllr = (.5 + .5) / 2 = 0.5
    s = np.array([0.0, 1.0, 2.0, 3.0])
    t = np.array([0, 1, 0, 1], bool)
    assert metrics.min_cllr(s, t) == pytest.approx(0.5, abs=1e-9)
    # All scores tied: no information, the optimal recalibration is LLR 0 everywhere -> 1 bit.
    assert metrics.min_cllr(np.zeros(6), np.array([1, 0, 1, 0, 0, 1], bool)) == pytest.approx(1.0)


def test_pav_is_monotone_and_mean_preserving():
    rng = np.random.default_rng(2)
    y = rng.random(300)
    w = rng.random(300) + 0.1
    f = metrics.pav(y, w)
    assert (np.diff(f) >= -1e-12).all()
    assert (f * w).sum() == pytest.approx((y * w).sum())


def test_brute_force_sweep_with_many_ties():
    rng = np.random.default_rng(4)
    t = rng.random(3000) < 0.2
    s = np.round(rng.normal(size=3000) + 1.5 * t, 1)  # ~60 distinct values: heavy ties
    thr = np.r_[np.unique(s), np.inf]
    pm = np.array([(s[t] < h).mean() for h in thr])
    pf = np.array([(s[~t] >= h).mean() for h in thr])
    for p in metrics.P_TARGETS:
        want = (p * pm + (1 - p) * pf).min() / min(p, 1 - p)
        assert metrics.min_dcf(s, t, p) == pytest.approx(want)
    p_miss, p_fa = metrics.det_curve(s, t)
    np.testing.assert_allclose(p_miss, pm)
    np.testing.assert_allclose(p_fa, pf)
    # EER lies between the two rates at the crossing step.
    k = np.argmax(pm >= pf)
    e = metrics.eer(s, t)
    assert min(pm[k - 1], pf[k]) - 1e-12 <= e <= max(pm[k], pf[k - 1]) + 1e-12
    assert metrics.min_cllr(s, t) <= metrics.cllr(s - np.median(s), t)
