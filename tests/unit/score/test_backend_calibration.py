"""Prior-weighted logistic regression, linear and QMF calibration."""
import numpy as np
import pytest

from common.errors import FormatError
from score import metrics
from score.calibration import Calibration, quality_features
from score.logreg import train_logreg


def _gauss_scores(rng, n_tar, n_non, mu=2.0, sigma=1.0):
    s = np.concatenate([rng.normal(mu, sigma, n_tar), rng.normal(-mu, sigma, n_non)])
    return s, np.arange(n_tar + n_non) < n_tar


def test_logreg_recovers_the_true_llr_of_equal_variance_gaussians():
    # Targets ~ N(mu, s^2), nontargets ~ N(-mu, s^2): the exact LLR is (2 mu / s^2) x, offset 0.
    rng = np.random.default_rng(0)
    x, y = _gauss_scores(rng, 40000, 40000, mu=1.5, sigma=2.0)
    m = train_logreg(x[:, None], y, p_target=0.5)
    assert m.weights[0] == pytest.approx(2 * 1.5 / 4.0, rel=0.03)
    assert m.bias == pytest.approx(0.0, abs=0.03)


def test_logreg_gradient_matches_finite_differences():
    # Indirect check of the analytic gradient: L-BFGS lands on a point where the objective is
    # stationary in every direction (the finite-difference slope is ~0).
    rng = np.random.default_rng(1)
    f = rng.normal(size=(500, 2))
    y = f @ [1.0, -0.5] + rng.normal(size=500) > 0
    m = train_logreg(f, y, p_target=0.3, l2=0.0)

    def obj(w, b):
        llr = f @ w + b + np.log(0.3 / 0.7)
        return (0.3 * np.logaddexp(0, -llr[y]).mean() + 0.7 * np.logaddexp(0, llr[~y]).mean())
    eps = 1e-5
    for d in np.eye(3):
        up = obj(m.weights + eps * d[:2], m.bias + eps * d[2])
        dn = obj(m.weights - eps * d[:2], m.bias - eps * d[2])
        assert abs(up - dn) / (2 * eps) < 1e-5


def test_calibration_makes_act_dcf_close_to_min_dcf_on_held_out_data():
    rng = np.random.default_rng(2)
    dev, y_dev = _gauss_scores(rng, 3000, 60000)
    ev, y_ev = _gauss_scores(rng, 3000, 60000)
    raw = lambda s: 0.1 * s + 0.7  # noqa: E731  (an uncalibrated system: wrong scale and offset)
    cal = Calibration.train(raw(dev), y_dev, p_target=0.01)
    llr = cal.apply(raw(ev))
    min_dcf = metrics.min_dcf(llr, y_ev, 0.01)
    assert metrics.act_dcf(llr, y_ev, 0.01) == pytest.approx(min_dcf, abs=0.05 * max(min_dcf, 0.1))
    assert metrics.act_dcf(raw(ev), y_ev, 0.01) > min_dcf + 0.3  # the raw scores really were off
    assert metrics.cllr(llr, y_ev) < metrics.cllr(raw(ev), y_ev)


def test_qmf_uses_durations():
    # The score's offset shifts with the test duration; a linear calibration cannot undo it, QMF can.
    rng = np.random.default_rng(3)

    def make(n):
        s, y = _gauss_scores(rng, n, 10 * n)
        dur = np.exp(rng.uniform(0, 3, len(s)))
        ids = np.array([f"t{i}" for i in range(len(s))], dtype=object)
        return s + 2.0 * np.log(dur), y, ids, dict(zip(ids.tolist(), dur.tolist()))
    s_dev, y_dev, ids_dev, dur_dev = make(2000)
    s_ev, y_ev, ids_ev, dur_ev = make(2000)
    enroll_dur = {"spk": 10.0}
    names = ["log_dur_enroll", "log_dur_test"]

    def q(ids, table):
        return quality_features(names, np.full(len(ids), "spk", dtype=object), ids,
                                {("enroll", "dur"): enroll_dur, ("test", "dur"): table})
    lin = Calibration.train(s_dev, y_dev, 0.01)
    qmf = Calibration.train(s_dev, y_dev, 0.01, q(ids_dev, dur_dev), names)
    assert qmf.model.weights[2] == pytest.approx(-2.0 * qmf.model.weights[0], rel=0.1)
    assert metrics.cllr(qmf.apply(s_ev, q(ids_ev, dur_ev)), y_ev) < 0.8 * metrics.cllr(lin.apply(s_ev), y_ev)


def test_save_load_and_errors(tmp_path):
    rng = np.random.default_rng(4)
    s, y = _gauss_scores(rng, 100, 100)
    cal = Calibration.train(s, y, 0.05)
    cal.save(tmp_path / "cal.json")
    assert np.allclose(Calibration.load(tmp_path / "cal.json").apply(s), cal.apply(s))
    with pytest.raises(ValueError, match="both target and nontarget"):
        Calibration.train(s[y], y[y])
    with pytest.raises(ValueError, match="NaN or inf"):
        Calibration.train(np.array([np.nan, 1.0]), np.array([True, False]))
    with pytest.raises(ValueError, match="p_target"):
        Calibration.train(s, y, 1.5)
    with pytest.raises(FormatError, match="no entry for 'u9'"):
        quality_features(["log_dur_test"], np.array(["a"]), np.array(["u9"]), {("test", "dur"): {"u1": 1.0}})
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not a calibration model"):
        Calibration.load(tmp_path / "bad.json")


def _two_point_scores():
    # Scores take two values; targets: 300 at +1, 100 at -1; nontargets: 100 at +1, 300 at -1.
    # Two points are fitted exactly by a line, so the unregularised optimum (BOSARIS/FoCal) is
    # the empirical LLR at each point, for any prior: llr(±1) = ±log((300/400) / (100/400)),
    # i.e. w = log 3, b = 0.
    s = np.r_[np.ones(300), -np.ones(100), np.ones(100), -np.ones(300)]
    return s, np.arange(800) < 400


@pytest.mark.parametrize("p_target", [0.5, 0.01])
def test_default_logreg_is_unregularised_like_bosaris(p_target):
    s, y = _two_point_scores()
    m = train_logreg(s[:, None], y, p_target)
    assert m.weights[0] == pytest.approx(np.log(3.0), abs=1e-7)
    assert m.bias == pytest.approx(0.0, abs=1e-7)
    cal = Calibration.train(s, y, p_target)
    assert cal.model.weights[0] == pytest.approx(np.log(3.0), abs=1e-7)
    # The option keeps the old regularised fit: weights shrink towards 0.
    shrunk = Calibration.train(s, y, p_target, l2=1e-2).model.weights[0]
    assert 0 < shrunk < np.log(3.0) - 1e-3


def test_separable_training_trials_warn_without_l2(caplog):
    s = np.r_[np.linspace(1, 2, 50), np.linspace(-2, -1, 50)]
    y = np.arange(100) < 50
    with caplog.at_level("WARNING", logger="score.logreg"):
        train_logreg(s[:, None], y, 0.01)
    assert "linearly separable" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="score.logreg"):
        train_logreg(s[:, None], y, 0.01, l2=1e-6)
    assert not caplog.text
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        train_logreg(s[:, None], y, 0.01, l2=-1.0)
