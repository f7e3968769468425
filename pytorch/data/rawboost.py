"""RawBoost-style waveform augmentation for countermeasure training (after Tak et al., ICASSP 2022).

Three signal-level distortions, applied in the order listed in `algos`:
  1  linear and non-linear convolutive noise: the sum of `n_powers` copies of the signal, each through its
     own random multi-notch FIR filter and raised to the power 1..n_powers, with random gains (a
     channel with harmonic distortion);
  2  impulsive signal-dependent noise: a random `impulse_fraction` of the samples gets a multiplicative
     perturbation of up to +-`impulse_gain` of the sample itself (clipping/quantisation-like artefacts);
  3  stationary signal-independent noise: white noise through a random multi-notch filter, added at a
     random SNR in [snr_min, snr_max] dB.
The output keeps the input's peak level. Written from the paper's description (not the reference code).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import firwin, lfilter

from common.errors import ConfigError


@dataclass
class RawBoostOptions:
    algos: list = field(default_factory=lambda: [1, 2])
    prob: float = 1.0                 # chance that an utterance is augmented at all
    n_powers: int = 3
    n_notches: int = 3                # notch bands per random filter
    taps: int = 65
    impulse_fraction: float = 0.05
    impulse_gain: float = 0.5
    snr_min: float = 10.0
    snr_max: float = 40.0

    def check(self, where: str) -> None:
        if not (isinstance(self.algos, list) and self.algos and set(self.algos) <= {1, 2, 3}):
            raise ConfigError(f"{where}.algos: expected a list of 1 (convolutive), 2 (impulsive), "
                              f"3 (additive coloured noise), got {self.algos!r}")
        if not 0.0 <= self.prob <= 1.0 or not 0.0 <= self.impulse_fraction <= 1.0:
            raise ConfigError(f"{where}: prob and impulse_fraction must be in [0, 1]")
        if self.n_powers < 1 or self.n_notches < 1 or self.taps < 3 or self.snr_min > self.snr_max:
            raise ConfigError(f"{where}: need n_powers >= 1, n_notches >= 1, taps >= 3, snr_min <= snr_max")


def _notch_filter(opts: RawBoostOptions, rate: int, rng: np.random.Generator) -> np.ndarray:
    """FIR taps of a filter that removes `n_notches` random bands (20-1000 Hz wide) from 0..Nyquist."""
    nyq = rate / 2
    edges: list[float] = []
    for centre in np.sort(rng.uniform(100, nyq - 600, opts.n_notches)):
        width = rng.uniform(20, 1000)
        lo, hi = max(centre - width / 2, 50.0), min(centre + width / 2, nyq - 50.0)
        if edges and lo <= edges[-1] + 10:
            continue  # overlapping notches merge into the previous one
        edges += [lo, hi]
    taps = opts.taps | 1  # odd: a band-stop FIR needs a type-I filter
    return firwin(taps, edges, fs=rate, pass_zero=True)


def rawboost(wave: np.ndarray, rate: int, opts: RawBoostOptions, rng: np.random.Generator) -> np.ndarray:
    """The augmented copy of a mono float waveform (same length, same peak)."""
    if rng.random() >= opts.prob:
        return wave
    x = np.asarray(wave, dtype=np.float64)
    peak = float(np.max(np.abs(x))) or 1.0
    y = x / peak
    for algo in opts.algos:
        if algo == 1:
            parts = [rng.uniform(0.0, 1.0 if p == 1 else 0.3) * lfilter(_notch_filter(opts, rate, rng), 1.0, y) ** p
                     for p in range(1, opts.n_powers + 1)]
            y = np.sum(parts, axis=0)
        elif algo == 2:
            hit = rng.random(len(y)) < opts.impulse_fraction
            y = y + hit * y * rng.uniform(-opts.impulse_gain, opts.impulse_gain, len(y))
        else:
            noise = lfilter(_notch_filter(opts, rate, rng), 1.0, rng.standard_normal(len(y)))
            snr = rng.uniform(opts.snr_min, opts.snr_max)
            gain = np.sqrt(np.mean(y ** 2) / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr / 10))
            y = y + gain * noise
        y = y / (float(np.max(np.abs(y))) or 1.0)
    return (y * peak).astype(np.float32)
