"""Background sound generators: coloured noise, mains hum, crowd murmur, music, impulse responses.

Each generator is `f(rng, n) -> float array of n samples at 16 kHz` with unit-ish RMS, registered
by name in NOISES; `music` also serves as the backing track of the vlog and singing genres.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from local.synthetic.rate import SR


def _rms_norm(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)


def _coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f^exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / SR), 20.0)
    return _rms_norm(np.fft.irfft(spec * f ** (-exponent / 2), n))


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    return _coloured(rng, n, 0.0)


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    return _coloured(rng, n, 1.0)


def brown(rng: np.random.Generator, n: int) -> np.ndarray:
    return _coloured(rng, n, 2.0)


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz and odd harmonics) over a little pink noise."""
    f = float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / SR
    h = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3))
            for k in (1, 3, 5, 7))
    return _rms_norm(h + 0.1 * pink(rng, n))


def crowd(rng: np.random.Generator, n: int) -> np.ndarray:
    """Speech-shaped noise with syllable-rate (3-6 Hz) amplitude modulation: distant chatter."""
    x = _coloured(rng, n, 1.0)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1.0 / SR)
    x = np.fft.irfft(spec * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / 600.0) / 1.2) ** 2), n)
    env = np.zeros(n)
    for _ in range(4):   # a few talkers, each with its own syllable rhythm
        r = rng.uniform(3.0, 6.0)
        env += np.maximum(np.sin(2 * np.pi * r * np.arange(n) / SR + rng.uniform(0, 6.3)), 0.0)
    return _rms_norm(x * env)


def music(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chords of harmonic tones with decaying envelopes, and a noise-burst beat."""
    t = np.arange(n) / SR
    out = np.zeros(n)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    beat = rng.uniform(0.35, 0.6)
    n_beats = int(np.ceil(n / SR / beat))
    degrees = np.array([0, 2, 4, 5, 7, 9])
    for b in range(0, n_beats, 2):
        s0 = int(b * beat * SR)
        seg = slice(s0, min(n, s0 + int(2 * beat * SR)))
        tt = t[seg] - t[s0]
        chord = root * 2 ** ((degrees[rng.integers(0, 6, 3)] + np.array([0, 12, 19])) / 12)
        for fq in chord:
            k = np.arange(1, 6)[:, None]
            tone = (np.sin(2 * np.pi * fq * k * tt[None, :]) / k ** 1.5).sum(0)
            out[seg] += tone * np.exp(-tt * rng.uniform(1.0, 3.0))
    for b in range(n_beats):   # percussion
        s0 = int(b * beat * SR)
        m = min(n - s0, int(0.08 * SR))
        if m > 0:
            out[s0:s0 + m] += 0.6 * rng.standard_normal(m) * np.exp(-np.arange(m) / (0.015 * SR))
    return _rms_norm(out)


NOISES: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "white": white, "pink": pink, "brown": brown, "hum": hum, "crowd": crowd, "music": music,
}


def room_impulse_response(rng: np.random.Generator, rt60: float, drr_db: float) -> np.ndarray:
    """Direct path + sparse early reflections + exponentially decaying noise tail (60 dB in rt60 s);
    high frequencies decay faster (air and wall absorption) through a one-pole low-pass that closes
    over time. Normalised so the direct path is 1 and the reverberant energy sits drr_db below it."""
    n = int(min(1.2 * rt60, 1.0) * SR) + 1
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.002 * SR)] = 0.0
    early = np.zeros(n)
    idx = rng.integers(int(0.002 * SR), int(0.03 * SR), 8)
    early[idx] = rng.uniform(-0.5, 0.5, 8)
    rev = tail + early * np.sqrt(np.sum(tail ** 2))
    # Darken the tail: running mean whose length grows with time (cheap frequency-dependent decay).
    k = 8
    a = t / (t[-1] + 1e-9)
    rev = (1 - a) * rev + a * np.convolve(rev, np.ones(k) / k, mode="same")
    rev *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(rev ** 2)) + 1e-12)
    rev[0] = 1.0
    return rev
