"""The spoofing attacks' vocoder stages: the artifact a countermeasure can learn, measured on the signal."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.signal
from scipy.ndimage import uniform_filter1d

from local.synthetic.attacks import ATTACKS
from local.synthetic.speak import n_samples, speak
from local.synthetic.voices import SR, sample_voice


def _fine_envelope(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Hilbert envelope of the lo-hi band minus its 20 ms moving average: the pitch-rate part."""
    sos = scipy.signal.butter(4, [lo, hi], btype="band", fs=SR, output="sos")
    e = np.abs(scipy.signal.hilbert(scipy.signal.sosfiltfilt(sos, x)))
    return e - uniform_filter1d(e, int(0.02 * SR))


def _pulse_coherence(x: np.ndarray) -> float:
    """Peak normalised correlation (lags within 3 ms) of the 6.5-7.8 kHz band's pitch-rate envelope with
    the 0.8-2.5 kHz band's: near 1 when both carry the same glottal pulses, near 0 when the high band is
    noise or has random phase (no pitch-synchronous bursts)."""
    h, low = _fine_envelope(x, 6500, 7800), _fine_envelope(x, 800, 2500)
    c = scipy.signal.correlate(h, low, mode="full", method="fft")
    mid, w = len(x) - 1, int(0.003 * SR)
    return float(c[mid - w:mid + w + 1].max() / np.sqrt((h ** 2).sum() * (low ** 2).sum()))


def test_phase_incoherent_high_band_of_vocoder_attacks():
    # A03 (train) and the unseen A05, A06 replace the high band by noise or random phase: a vocoder
    # family's artifact. Bona fide speech of the same (low-breath) voices keeps its pulses up there.
    # The former A06 rendered the converted voice with the bona fide synthesiser (coherence ~0.4).
    n = n_samples(1.0)
    voices = [replace(sample_voice(np.random.default_rng(i), g), breath=0.03) for i, g in enumerate("mfmf")]
    bona = [_pulse_coherence(speak(v, "speech", np.random.default_rng(7), n).wave) for v in voices]
    assert min(bona) > 0.4, bona
    for a in ("A03", "A05", "A06"):
        coh = [_pulse_coherence(ATTACKS[a](v, np.random.default_rng(7), n)) for v in voices]
        assert np.mean(coh) < 0.2, (a, coh)
