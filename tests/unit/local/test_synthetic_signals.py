"""Building blocks of the generator, on hand-checkable cases."""
from __future__ import annotations

import numpy as np
import pytest

from local.baseline.stats_embedding import stats
from local.synthetic.attacks import ATTACKS, EVAL_ATTACKS, TRAIN_ATTACKS
from local.synthetic.mixtures import place
from local.synthetic.noises import NOISES, room_impulse_response
from local.synthetic.sessions import Session, eq_response
from local.synthetic.speak import n_samples, speak
from local.synthetic.voices import SR, sample_voice


def test_placement_overlap_by_hand():
    p = place(100, 100, 1 / 3)          # overlap 50 of a 150-sample union
    assert (p.n, p.a, p.b) == (150, (0, 100), (50, 150))
    assert p.overlap == pytest.approx(1 / 3)
    full = place(100, 40, 1.0)          # B entirely inside A
    assert full.overlap == pytest.approx(0.4) and full.n == 100


def test_rir_direct_path_and_decay():
    rir = room_impulse_response(np.random.default_rng(0), rt60=0.4, drr_db=0.0)
    assert rir[0] == 1.0
    assert np.sum(rir[1:] ** 2) == pytest.approx(1.0, rel=1e-6)        # DRR 0 dB
    early = np.sum(rir[1:int(0.1 * SR)] ** 2)
    late = np.sum(rir[int(0.3 * SR):int(0.4 * SR)] ** 2)
    assert late < early * 0.05                                         # ~45 dB/0.3 s decay


def test_eq_response_band_limits():
    s = Session("speech", (0.0,) * 8, (300.0, 3400.0), 0.0, 0.0, "white", 30.0, -20.0, 1.0, 1.0, 0.0, 0)
    g = eq_response(s, 16000)                                          # 1 Hz bins
    assert g[1000] == pytest.approx(1.0, abs=0.02)
    assert g[300] == pytest.approx(2 ** -0.5, rel=1e-3) and g[3400] == pytest.approx(2 ** -0.5, rel=1e-3)
    assert g[50] < 0.01 and g[7000] < 0.02


@pytest.mark.parametrize("name", sorted(NOISES))
def test_noises_unit_rms(name):
    x = NOISES[name](np.random.default_rng(1), 8000)
    assert x.shape == (8000,) and np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-3)


def test_voice_pitch_follows_speaker_f0():
    rng = np.random.default_rng(5)
    v = sample_voice(rng, "m")
    sp = speak(v, "speech", rng, n_samples(2.0))
    voiced = np.flatnonzero(np.repeat(sp.tracks.voice, 128)[: len(sp.wave)] > 0.9)
    assert len(voiced) > 2000
    seg = sp.wave[voiced[0]:voiced[0] + 800]
    ac = np.correlate(seg, seg, "full")[len(seg) - 1:]
    lo, hi = SR // 400, SR // 50
    f0_est = SR / (lo + np.argmax(ac[lo:hi]))
    f0_true = np.median(sp.f0[np.flatnonzero(sp.tracks.voice > 0.9)])
    assert abs(np.log(f0_est / f0_true)) < 0.15


def test_attacks_registry():
    assert set(TRAIN_ATTACKS) | set(EVAL_ATTACKS) == set(ATTACKS)
    assert not set(TRAIN_ATTACKS) & set(EVAL_ATTACKS)
    v = sample_voice(np.random.default_rng(0), "f")
    n = n_samples(0.6)
    for a, fn in ATTACKS.items():
        x = fn(v, np.random.default_rng(1), n)
        assert x.shape == (n,) and np.isfinite(x).all(), a


def test_stats_embedding_by_hand():
    feats = np.array([[9.0, 1.0, 2.0], [9.0, 3.0, 2.0], [0.0, 100.0, 100.0]])
    vad = np.array([1, 1, 0])
    # C0 dropped; with fewer than 10 voiced frames every frame counts.
    np.testing.assert_allclose(stats(feats, vad), [104 / 3, 104 / 3, np.std([1, 3, 100]), np.std([2, 2, 100])])
    many = np.tile(feats[:2], (5, 1))
    np.testing.assert_allclose(stats(np.vstack([many, feats[2:]]), np.r_[np.ones(10), 0]), [2.0, 2.0, 1.0, 0.0])
