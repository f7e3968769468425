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
