"""Spoofing attacks: vocoder-like systems that imitate a target voice, each with an ASVspoof-style id.

Train/dev use A01-A03 and eval the unseen A04-A06 (as in ASVspoof 2019 LA, where eval attacks are
mostly unseen). Every attack returns clean speech (active power 1) of n samples; the caller then
records it through a random channel like any bona fide utterance, so the channel is no CM cue.
  A01 harmonic vocoder: sum of sinusoids, F0 contour flattened, no jitter/shimmer/breath
  A02 LPC re-synthesis: order-18 LPC envelope per frame, re-excited by a jitter-free pulse train
      (voiced) or white noise (unvoiced), with a binary voicing decision
  A03 envelope-smoothed: cepstrally smoothed, time-smoothed envelope over a harmonic + noise
      excitation whose band above 4 kHz is all noise (wrong aperiodicity)
  A04 waveform concatenation: units of 120-350 ms cut from several target utterances and joined
      without cross-fades, with level jumps
  A05 random-phase vocoder: STFT magnitude kept, phase random, top band attenuated
  A06 voice conversion: another speaker's fine traits with the target's F0 and vocal-tract length
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
from scipy.ndimage import gaussian_filter1d

from local.synthetic.sessions import active_power
from local.synthetic.speak import speak
from local.synthetic.voices import FREQS, HOP, NFFT, SR, Voice, blend_voices, istft, sample_voice, stft

TRAIN_ATTACKS = ("A01", "A02", "A03")
EVAL_ATTACKS = ("A04", "A05", "A06")


def _norm(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(active_power(x))


def _pulses(f0_frames: np.ndarray, n: int) -> np.ndarray:
    phase = np.cumsum(np.interp(np.arange(n), np.arange(len(f0_frames)) * HOP, f0_frames)) / SR
    cyc = np.floor(phase)
    out = np.zeros(n)
    out[np.flatnonzero(np.diff(cyc, prepend=cyc[0]) > 0)] = 1.0
    return out


def _match_frame_energy(z: np.ndarray, ref: np.ndarray) -> np.ndarray:
    e = np.sqrt((np.abs(ref) ** 2).sum(1, keepdims=True) / ((np.abs(z) ** 2).sum(1, keepdims=True) + 1e-12))
    return z * e


def harmonic_flat(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    def flatten(f0: np.ndarray, _tr: object) -> np.ndarray:
        lf = np.log(f0)
        return np.exp(lf.mean() + 0.3 * (gaussian_filter1d(lf, 25) - lf.mean()))
    return speak(target, "speech", rng, n, f0_transform=flatten, harmonic=True, breath_scale=0.0,
                 jitter_scale=0.0).wave


def _lpc_envelope(power: np.ndarray, order: int) -> np.ndarray:
    """[T, F] 1/|A(f)| of the order-`order` LPC fit of each frame's power spectrum."""
    r = np.fft.irfft(power, axis=1)[:, : order + 1]
    env = np.empty_like(power)
    for t in range(len(r)):   # Toeplitz solves per frame: a few hundred small systems
        rt = r[t] + np.r_[1e-9 + 1e-6 * r[t, 0], np.zeros(order)]
        a = np.r_[1.0, -scipy.linalg.solve_toeplitz(rt[:-1], rt[1:])]
        env[t] = 1.0 / np.maximum(np.abs(np.fft.rfft(a, NFFT)), 1e-4)
    return env


def lpc_resynthesis(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    sp = speak(target, "speech", rng, n)
    z = stft(sp.wave)
    env = _lpc_envelope(np.abs(z) ** 2, 18)
    voiced = sp.tracks.voice > 0.3
    f0 = np.where(voiced, sp.f0, np.median(sp.f0))
    exc = _pulses(gaussian_filter1d(f0, 3), n) * np.interp(np.arange(n), np.arange(len(voiced)) * HOP, voiced)
    exc += rng.standard_normal(n) * 0.05 * np.interp(np.arange(n), np.arange(len(voiced)) * HOP, ~voiced)
    return _norm(istft(_match_frame_energy(stft(exc) * env, z), n))


def envelope_smoothed(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    sp = speak(target, "speech", rng, n)
    z = stft(sp.wave)
    logmag = np.log(np.abs(z) + 1e-7)
    cep = np.fft.irfft(logmag, axis=1)
    cep[:, 24:-23] = 0.0                                  # keep the low quefrencies: the envelope
    env = np.exp(gaussian_filter1d(np.fft.rfft(cep, axis=1).real, 2.0, axis=0))
    harm = _pulses(gaussian_filter1d(sp.f0, 4), n)
    hz = stft(harm) * (FREQS < 4000) + stft(rng.standard_normal(n) * 0.1) * (FREQS >= 4000)
    return _norm(istft(_match_frame_energy(hz * env, z), n))


def concatenation(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    pool = [speak(target, "speech", rng, n).wave for _ in range(3)]
    out, pos = [], 0
    while pos < n:
        src = pool[int(rng.integers(len(pool)))]
        m = min(int(rng.uniform(0.12, 0.35) * SR), n - pos)
        s = int(rng.integers(0, n - m + 1))
        out.append(src[s:s + m] * 10 ** (rng.normal(0, 2.0) / 20))
        pos += m
    return _norm(np.concatenate(out))


def random_phase(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    z = stft(speak(target, "speech", rng, n).wave)
    ph = np.exp(2j * np.pi * rng.random(z.shape))
    tilt = np.where(FREQS > 6500, 10 ** (-12 / 20), 1.0)
    return _norm(istft(np.abs(z) * ph * tilt, n))


def voice_conversion(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    source = sample_voice(rng, target.gender)
    return speak(blend_voices(source, target, 0.9), "speech", rng, n, breath_scale=0.5).wave


ATTACKS: dict[str, Callable[[Voice, np.random.Generator, int], np.ndarray]] = {
    "A01": harmonic_flat, "A02": lpc_resynthesis, "A03": envelope_smoothed,
    "A04": concatenation, "A05": random_phase, "A06": voice_conversion,
}
