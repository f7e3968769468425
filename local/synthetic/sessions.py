"""Recording sessions: what changes between two recordings of the same speaker.

A session fixes the genre, the channel (random EQ curve, band limits), the room (RT60 and
direct-to-reverberant ratio; dry with some probability), the background noise type and SNR, the
gain, the speaking rate and a small drift of the speaker's own voice (F0 and vocal effort).
Every utterance of the session shares these; the noise and the phones change per utterance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from local.synthetic.noises import NOISES, room_impulse_response
from local.synthetic.rate import SR

EQ_KNOTS = np.array([60.0, 150.0, 300.0, 600.0, 1200.0, 2400.0, 4800.0, 8000.0])


@dataclass(frozen=True)
class Session:
    genre: str
    eq_db: tuple[float, ...]     # gain (dB) at EQ_KNOTS
    band: tuple[float, float]    # high-pass and low-pass corner (Hz)
    rt60: float                  # 0: dry
    drr_db: float
    noise: str                   # key of NOISES
    snr_db: float
    gain_db: float               # level of the result (dBFS RMS)
    rate: float                  # speaking-rate multiplier
    f0_shift: float              # speaker's F0 multiplier in this session
    tilt_delta: float            # vocal-effort change of the spectral tilt
    rir_seed: int                # the room's impulse response is drawn from this seed


@dataclass(frozen=True)
class SessionSpread:
    """How different two sessions can be; the corpus difficulty knob against the speaker spread."""
    eq_db: float = 5.0
    p_band: float = 0.2           # chance of a telephone-like band
    p_reverb: float = 0.5
    snr: tuple[float, float] = (3.0, 30.0)
    f0: float = 0.06
    tilt: float = 0.2
    rate: tuple[float, float] = (0.85, 1.2)


def sample_session(rng: np.random.Generator, genre: str, spread: SessionSpread) -> Session:
    eq = tuple(float(g) for g in rng.normal(0.0, spread.eq_db, len(EQ_KNOTS)))
    if rng.random() < spread.p_band:
        band = (float(rng.uniform(200, 400)), float(rng.uniform(3200, 4200)))
    else:
        band = (float(rng.uniform(40, 150)), float(rng.uniform(6500, 7900)))
    reverb = rng.random() < spread.p_reverb
    return Session(
        genre=genre, eq_db=eq, band=band,
        rt60=float(rng.uniform(0.15, 0.7)) if reverb else 0.0, drr_db=float(rng.uniform(-3, 10)),
        noise=str(rng.choice(sorted(NOISES))), snr_db=float(rng.uniform(*spread.snr)),
        gain_db=float(rng.uniform(-36, -22)), rate=float(rng.uniform(*spread.rate)),
        f0_shift=float(np.exp(rng.normal(0, spread.f0))), tilt_delta=float(rng.normal(0, spread.tilt)),
        rir_seed=int(rng.integers(2 ** 31)))


def eq_response(s: Session, n: int) -> np.ndarray:
    """Magnitude on the rfft bins of an n-sample signal: smooth EQ curve times band limits."""
    f = np.fft.rfftfreq(n, 1.0 / SR)
    curve = PchipInterpolator(np.log(EQ_KNOTS), np.asarray(s.eq_db), extrapolate=True)
    g = 10 ** (curve(np.log(np.clip(f, EQ_KNOTS[0], EQ_KNOTS[-1]))) / 20)
    hp, lp = s.band
    g *= 1.0 / np.sqrt(1.0 + (hp / np.maximum(f, 1.0)) ** 8)     # 4th-order-like slopes
    g *= 1.0 / np.sqrt(1.0 + (f / lp) ** 12)
    return g


def active_power(x: np.ndarray) -> float:
    """Mean power over the frames within 30 dB of the loudest (speech level for the SNR)."""
    m = len(x) // 160 * 160
    p = (x[:m].reshape(-1, 160) ** 2).mean(1) if m else np.array([np.mean(x ** 2)])
    keep = p >= p.max() * 1e-3
    return float(p[keep].mean()) + 1e-12


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """x convolved with a room impulse response (direct path at sample 0), cut to len(x)."""
    n = len(x)
    return np.fft.irfft(np.fft.rfft(x, n + len(rir)) * np.fft.rfft(rir, n + len(rir)))[:n]


def record(x: np.ndarray, s: Session, rng: np.random.Generator, backing: np.ndarray | None = None,
           backing_snr_db: float = 15.0) -> np.ndarray:
    """Room, then background (backing track + session noise at its SNR), then EQ, then gain."""
    n = len(x)
    if s.rt60 > 0:
        x = reverberate(x, room_impulse_response(np.random.default_rng(s.rir_seed), s.rt60, s.drr_db))
    p = active_power(x)
    if backing is not None:
        x = x + backing[:n] * np.sqrt(p * 10 ** (-backing_snr_db / 10) / (np.mean(backing ** 2) + 1e-12))
    x = x + NOISES[s.noise](rng, n) * np.sqrt(p * 10 ** (-s.snr_db / 10))
    x = np.fft.irfft(np.fft.rfft(x) * eq_response(s, n), n)
    x = x * 10 ** (s.gain_db / 20) / np.sqrt(active_power(x))
    return np.clip(x, -0.99, 0.99)
