"""Spoofing attacks: vocoder-like systems that imitate a target voice, each with an ASVspoof-style id.

Train/dev use A01-A03 and eval the unseen A04-A06 (as in ASVspoof 2019 LA, where eval attacks are
mostly unseen). Every attack returns clean speech (active power 1) of n samples; the caller then
records it through a random channel like any bona fide utterance, so the channel is no CM cue.
  A01 harmonic vocoder: sum of sinusoids, F0 contour flattened, no jitter/shimmer/breath
  A02 LPC re-synthesis: order-18 LPC envelope per frame, re-excited by a jitter-free pulse train
      (voiced) or white noise (unvoiced), with a binary voicing decision
  A03 envelope-smoothed: cepstrally smoothed, time-smoothed envelope over a harmonic + noise
      excitation whose band above 4 kHz is all noise (wrong aperiodicity)
The eval attacks are new systems, but, as on LA (whose unseen TTS/VC systems come out of vocoders
of the same families as the training ones), each ends in a vocoder stage of a family A01-A03 use,
with other parameters, so a CM must learn the family's artifacts, not one system's settings:
  A04 unit selection + LPC vocoder: 80-250 ms units on the frame grid from two target utterances
      (F0 and voicing travel with their unit, so both jump at the joins), re-synthesised by an
      order-24 LPC vocoder with soft (mixed) voicing and a less smoothed jitter-free pulse train
  A05 mel-envelope vocoder ("neural-vocoder-like"): the power spectrum through 80 mel bands and
      back (harmonics blurred where the bands are wider than F0), smoothed over frames, with the
      original phase below 1.5 kHz and random phase above 3 kHz (phase incoherence)
  A06 voice conversion through a harmonic-plus-noise vocoder: another speaker's fine traits with the
      target's F0 and vocal-tract length; the harmonic part a jitter- and shimmer-free pulse train on a
      smoothed (not flattened) F0 without breath noise, the noise part a cepstral-envelope noise band
      above a voicing-dependent maximum voiced frequency (3.5-6 kHz), where bona fide speech is still
      partly harmonic
Before, A04 joined the generator's own bona fide waveforms, A05 only randomised the phase and A06
rendered the converted voice with the bona fide renderer: A04 and A06 carried no artifact a CM
could learn from A01-A03, and the mini CM was at chance on eval (egs/mini/README.md, "SASV").
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


def _lpc_vocoder(wave: np.ndarray, f0: np.ndarray, voicing: np.ndarray, rng: np.random.Generator, *,
                 order: int, f0_sigma: float) -> np.ndarray:
    """LPC vocoder of `wave`: the order-`order` LPC envelope of each frame over a jitter-free pulse train
    on `f0` (per frame, smoothed over `f0_sigma` frames) weighted by `voicing` (per frame, 0-1) plus
    white noise weighted by 1 - voicing, at the frame energies of `wave`."""
    n = len(wave)
    z = stft(wave)
    env = _lpc_envelope(np.abs(z) ** 2, order)
    grid = np.arange(len(voicing)) * HOP
    exc = _pulses(gaussian_filter1d(f0, f0_sigma), n) * np.interp(np.arange(n), grid, voicing)
    exc += rng.standard_normal(n) * 0.05 * np.interp(np.arange(n), grid, 1.0 - voicing)
    return _norm(istft(_match_frame_energy(stft(exc) * env, z), n))


def lpc_resynthesis(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    sp = speak(target, "speech", rng, n)
    voiced = sp.tracks.voice > 0.3
    f0 = np.where(voiced, sp.f0, np.median(sp.f0))
    return _lpc_vocoder(sp.wave, f0, voiced.astype(float), rng, order=18, f0_sigma=3)


def _cepstral_envelope(z: np.ndarray, keep: int, time_sigma: float) -> np.ndarray:
    """[T, F] spectral envelope of the STFT `z`: its first `keep` cepstral coefficients, smoothed over
    `time_sigma` frames (the over-smoothed envelope of statistical vocoders)."""
    cep = np.fft.irfft(np.log(np.abs(z) + 1e-7), axis=1)
    cep[:, keep:-(keep - 1)] = 0.0                        # keep the low quefrencies: the envelope
    return np.exp(gaussian_filter1d(np.fft.rfft(cep, axis=1).real, time_sigma, axis=0))


def envelope_smoothed(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    sp = speak(target, "speech", rng, n)
    z = stft(sp.wave)
    env = _cepstral_envelope(z, 24, 2.0)
    harm = _pulses(gaussian_filter1d(sp.f0, 4), n)
    hz = stft(harm) * (FREQS < 4000) + stft(rng.standard_normal(n) * 0.1) * (FREQS >= 4000)
    return _norm(istft(_match_frame_energy(hz * env, z), n))


def unit_selection_lpc(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    pool = [speak(target, "speech", rng, n) for _ in range(2)]
    nf = n // HOP
    wave, f0, voice, pos = [], [], [], 0
    while pos < nf:    # units on the frame grid, so each unit's F0 and voicing travel with it
        sp = pool[int(rng.integers(len(pool)))]
        m = min(int(rng.uniform(0.08, 0.25) * SR / HOP), nf - pos)
        s = int(rng.integers(0, nf - m + 1))
        wave.append(sp.wave[s * HOP:(s + m) * HOP] * 10 ** (rng.normal(0, 1.0) / 20))
        f0.append(sp.f0[s:s + m])
        voice.append(sp.tracks.voice[s:s + m])
        pos += m
    v = np.r_[np.concatenate(voice), voice[-1][-1]]      # one frame per hop plus the last
    f = np.r_[np.concatenate(f0), f0[-1][-1]]
    f = np.where(v > 0.3, f, np.median(f))
    return _lpc_vocoder(np.concatenate(wave), f, np.clip(v, 0.0, 1.0), rng, order=24, f0_sigma=1.5)


def _mel_filterbank(n_mels: int) -> np.ndarray:
    """[M, F] triangular filters on FREQS, equally spaced on the mel scale from 0 to SR/2 (peak 1)."""
    mel = 2595.0 * np.log10(1.0 + FREQS / 700.0)
    edges = np.linspace(0.0, mel[-1], n_mels + 2)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((mel - lo) / (mid - lo), (hi - mel) / (hi - mid)))


def mel_vocoder(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    z = stft(speak(target, "speech", rng, n).wave)
    fb = _mel_filterbank(80)
    mel = gaussian_filter1d((np.abs(z) ** 2) @ fb.T, 1.0, axis=0)
    power = (mel / fb.sum(1)) @ fb / np.maximum(fb.sum(0), 1e-3)   # band means, interpolated
    # coherent phase where the vocoder resolves the harmonics, random above, blended over 1.5-3 kHz
    w = np.clip((FREQS - 1500.0) / 1500.0, 0.0, 1.0)
    ph = (1 - w) * z / (np.abs(z) + 1e-12) + w * np.exp(2j * np.pi * rng.random(z.shape))
    return _norm(istft(np.sqrt(power) * ph / (np.abs(ph) + 1e-12), n))


def voice_conversion_hnm(target: Voice, rng: np.random.Generator, n: int) -> np.ndarray:
    source = sample_voice(rng, target.gender)

    def smooth(f0: np.ndarray, _tr: object) -> np.ndarray:
        return np.exp(gaussian_filter1d(np.log(f0), 6))

    # a jitter- and shimmer-free pulse train is the harmonic part: equal-amplitude, phase-locked harmonics
    sp = speak(blend_voices(source, target, 0.9), "speech", rng, n, f0_transform=smooth, breath_scale=0.0,
               jitter_scale=0.0)
    z = stft(sp.wave)
    env = _cepstral_envelope(z, 30, 1.0)
    mvf = 3500.0 + 2500.0 * np.clip(sp.tracks.voice, 0.0, 1.0)   # maximum voiced frequency per frame
    noise = stft(rng.standard_normal(n))
    hz = np.where(FREQS[None, :] >= mvf[:, None], env * noise / (np.abs(noise) + 1e-12), z)
    return _norm(istft(hz, n))


ATTACKS: dict[str, Callable[[Voice, np.random.Generator, int], np.ndarray]] = {
    "A01": harmonic_flat, "A02": lpc_resynthesis, "A03": envelope_smoothed,
    "A04": unit_selection_lpc, "A05": mel_vocoder, "A06": voice_conversion_hnm,
}
