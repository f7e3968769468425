"""The voices' high band (F4 and above) and the corrupted test set's SNRs, on hand-checkable cases."""
from __future__ import annotations

import numpy as np
import pytest

from local.synthetic.corrupt import corrupt
from local.synthetic.speak import n_samples
from local.synthetic.spectrum import band_db, voice_spectra
from local.synthetic.voices import FREQS, SR, higher_poles, sample_voice, vocal_tract


def _db(x: float) -> float:
    return 10 * np.log10(x)


def test_neutral_tube_keeps_its_troughs_level():
    # A uniform tube has resonances at (2k-1) x 500 Hz and, between them, |1/cos| = 1 (0 dB) at the
    # even multiples of 500 Hz: F1-F10 in cascade plus the higher-pole correction must stay near 0 dB
    # there up to 7 kHz (a cascade cut at F5 falls to about -84 dB at 6 kHz).
    fk = (2 * np.arange(1, 11) - 1) * 500.0
    env = vocal_tract(fk[None, :], 1.0, 0.0)[0] * higher_poles(fk[-1], 1000.0)
    troughs = [20 * np.log10(env[np.argmin(np.abs(FREQS - f))]) for f in range(1000, 7001, 1000)]
    assert max(abs(t) for t in troughs) < 5.0, troughs


def test_high_formants_are_speaker_traits_past_nyquist():
    a, b = (sample_voice(np.random.default_rng(s), "m") for s in (1, 2))
    for v in (a, b):
        assert v.f_high[-1] > SR / 2 and np.all(np.diff(v.f_high) >= 400.0)
    assert a.f_high[:3] != b.f_high[:3]


def test_voiced_speech_reaches_5_to_7_khz():
    # Long-term spectrum of voiced frames (voicing on, no frication): the 5-7 kHz band held -43 dB
    # re the total before F4+ and the higher-pole correction (-27 dB after); real voiced speech
    # keeps it within about 30 dB.
    spectra = voice_spectra(6, seed=0, seconds=2.0)
    assert band_db(np.mean(spectra, axis=0), 5000, 7000) > -35.0
    assert np.std([band_db(p, 5000, 7000) for p in spectra]) > 1.0     # a speaker cue, not a constant


@pytest.mark.parametrize("kind,lo,hi", [("noise", 0.0, 10.0), ("music", 0.0, 10.0), ("babble", 0.0, 10.0)])
def test_corruption_snr_applied(kind, lo, hi):
    # A tone at constant power: what is left after projecting the tone out is the added sound, so
    # 10 log10(P(tone part) / P(rest)) is the SNR that was applied.
    t = np.arange(n_samples(1.0)) / SR
    x = 0.1 * np.sin(2 * np.pi * 211.0 * t)
    for seed in range(4):
        y = corrupt(x, kind, np.random.default_rng(seed))
        c = float(y @ x / (x @ x))
        snr = _db(np.mean((c * x) ** 2) / np.mean((y - c * x) ** 2))
        assert lo - 0.5 < snr < hi + 0.5, (kind, seed, snr)
        assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=0.02)  # level kept


def test_corruption_reverb_smears_an_impulse():
    x = np.zeros(n_samples(1.0))
    x[100] = 0.5
    y = corrupt(x, "reverb", np.random.default_rng(0))
    tail = np.sum(y[100 + int(0.01 * SR):] ** 2) / np.sum(y ** 2)
    assert tail > 0.2          # DRR at most +4 dB and RT60 >= 0.4 s: much of the energy is late
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(x, "rain", np.random.default_rng(0))
