"""Fusion: fixed rules by hand, and logistic-regression fusion beating the best single system."""
import numpy as np
import pytest

from score import metrics
from score.calibration import Calibration
from score.fusion import Fusion


def _systems(rng, n_tar, n_non):
    """Three systems sharing a latent speaker-similarity term plus correlated and private noise."""
    y = np.arange(n_tar + n_non) < n_tar
    latent = np.where(y, 1.5, -1.5) + rng.normal(size=len(y))
    shared = rng.normal(size=len(y))
    s = np.stack([latent + 0.8 * shared + 1.0 * rng.normal(size=len(y)),
                  2.0 * latent + 1.0 * shared + 2.5 * rng.normal(size=len(y)) + 3.0,
                  0.5 * latent - 0.3 * shared + 0.9 * rng.normal(size=len(y))], axis=1)
    return s, y


def test_fixed_rules_by_hand():
    s = np.array([[1.0, 3.0], [2.0, -2.0]])
    assert np.allclose(Fusion.train("mean", 2).apply(s), [2.0, 0.0])
    assert np.allclose(Fusion.train("weighted", 2, [0.6, 0.4]).apply(s), [1.8, 0.4])


def test_logreg_fusion_beats_best_single_system_on_eval():
    rng = np.random.default_rng(0)
    dev, y_dev = _systems(rng, 2000, 20000)
    ev, y_ev = _systems(rng, 2000, 20000)
    fused = Fusion.train("logreg", 3, dev_scores=dev, dev_is_target=y_dev, p_target=0.01).apply(ev)
    # Fair baseline: each single system calibrated on the same dev data.
    singles = [metrics.cllr(Calibration.train(dev[:, i], y_dev, 0.01).apply(ev[:, i]), y_ev)
               for i in range(3)]
    assert metrics.cllr(fused, y_ev) < min(singles) - 0.02
    # The mean rule calibrated on dev is a valid LLR too (better Cllr than the raw mean).
    mean_cal = Fusion.train("mean", 3, dev_scores=dev, dev_is_target=y_dev).apply(ev)
    assert metrics.cllr(mean_cal, y_ev) < metrics.cllr(ev.mean(1), y_ev)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        Fusion.train("max", 2)
    with pytest.raises(ValueError, match="needs 2 weights"):
        Fusion.train("weighted", 2, [1.0])
    with pytest.raises(ValueError, match="needs dev trials"):
        Fusion.train("logreg", 2)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        Fusion.train("mean", 2).apply(np.zeros((3, 3)))
    f = Fusion.train("weighted", 2, [0.5, 2.0])
    f.save(tmp_path / "f.json")
    assert np.allclose(Fusion.load(tmp_path / "f.json").weights, [0.5, 2.0])


def _two_point_dev():
    # As in test_backend_calibration: the unregularised optimum is the empirical LLR,
    # w = log 3 on a score that is ±1, b = 0.
    s = np.r_[np.ones(300), -np.ones(100), np.ones(100), -np.ones(300)]
    return s, np.arange(800) < 400


def test_fusion_logistic_regressions_are_unregularised_by_default():
    s, y = _two_point_dev()
    logreg = Fusion.train("logreg", 1, dev_scores=s[:, None], dev_is_target=y)
    assert logreg.weights[0] == pytest.approx(np.log(3.0), abs=1e-7)
    mean = Fusion.train("mean", 2, dev_scores=np.stack([s, s], axis=1), dev_is_target=y)
    assert mean.weights == pytest.approx([np.log(3.0) / 2] * 2, abs=1e-7)
    shrunk = Fusion.train("logreg", 1, dev_scores=s[:, None], dev_is_target=y, l2=1e-2)
    assert 0 < shrunk.weights[0] < np.log(3.0) - 1e-3


def test_cli_l2_option(tmp_path):
    import json

    from score.bin import calibrate, fuse
    s, y = _two_point_dev()
    ids = [f"u{i:03d}" for i in range(len(s))]
    (tmp_path / "trials").write_text("".join(f"e {u} {'target' if t else 'nontarget'}\n" for u, t in zip(ids, y)))
    (tmp_path / "dev").write_text("".join(f"e {u} {v:g}\n" for u, v in zip(ids, s)))
    dev = ["--train-trials", str(tmp_path / "trials"), "--train-scores", str(tmp_path / "dev")]
    weights = {}
    for l2 in ("0", "0.01"):
        assert calibrate.main(dev + ["--l2", l2, "--save-model", str(tmp_path / f"cal{l2}.json")]) == 0
        assert fuse.main(["--method", "logreg"] + dev + ["--scores", str(tmp_path / "dev"), "--l2", l2,
                          "--out", str(tmp_path / f"fused{l2}"),
                          "--save-model", str(tmp_path / f"fus{l2}.json")]) == 0
        weights[l2] = [json.loads((tmp_path / f"{k}{l2}.json").read_text())["weights"][0] for k in ("cal", "fus")]
    assert weights["0"] == pytest.approx([np.log(3.0)] * 2, abs=1e-6)
    assert all(w < np.log(3.0) - 1e-3 for w in weights["0.01"])
    assert calibrate.main(dev + ["--save-model", str(tmp_path / "default.json")]) == 0
    assert json.loads((tmp_path / "default.json").read_text())["weights"][0] == pytest.approx(weights["0"][0])
