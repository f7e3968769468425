"""Source-filter voices: speaker traits and the synthesiser.

The source is a glottal pulse train (F0 contour with jitter, per-pulse shimmer) plus aspiration
noise modulated by the glottal cycle (breathiness); frication is a separate noise source. The
filter is a cascade of formant resonators whose F1-F3 follow the phones (scaled by the
speaker's vocal-tract length and accent offsets) while F4 and above, up to past the Nyquist
frequency, are fixed speaker traits, times the speaker's spectral tilt. Klatt's (1980) higher-pole
correction stands in for the resonances above those. A cascade cut at F5 loses the skirts of every
higher pole: its voiced speech carried almost nothing above ~3.3 kHz (voiced frames: 3.3-5 kHz at
-35 dB and 5-7 kHz at -44 dB re the total, against -13 and -27 dB now), where real speech keeps
energy and speaker cues (F4, F5 and the cavities above) up to 5-7 kHz. Filtering is done frame by
frame in the STFT domain, which keeps the time-varying filter vectorised (no per-sample loop).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.signal

from local.synthetic.phones import VOWEL_NAMES, Tracks
from local.synthetic.rate import SR

HOP = 128                      # 8 ms STFT hop; also the frame grid of the tracks
NFFT = 512
FREQS = np.fft.rfftfreq(NFFT, 1.0 / SR)


@dataclass(frozen=True)
class Voice:
    gender: str
    f0: float                  # mean F0 (Hz)
    f0_range: float            # intonation spread (semitones, std)
    vtl: float                 # formant scale: >1 is a shorter vocal tract
    accent: tuple[tuple[float, float, float], ...]   # per-vowel multiplicative formant offsets
    f_high: tuple[float, ...]  # F4, F5, ... up to past SR/2 (Hz): fixed per speaker
    bw_scale: float            # formant bandwidth scale
    tilt: float                # source roll-off exponent above 300 Hz (higher = darker)
    breath: float              # aspiration noise level relative to the pulses
    jitter: float              # relative period perturbation (std)
    shimmer: float             # relative pulse amplitude perturbation (std)


def sample_voice(rng: np.random.Generator, gender: str | None = None, spread: float = 1.0) -> Voice:
    """A random speaker. `spread` scales the between-speaker variability (1 = default corpus)."""
    g = gender or str(rng.choice(["m", "f"]))
    female = g == "f"
    s = spread
    f0 = (205.0 if female else 118.0) * float(np.exp(rng.normal(0, 0.26 * s)))
    vtl = (1.16 if female else 1.0) * float(np.exp(rng.normal(0, 0.1 * s)))
    accent = tuple(tuple(float(v) for v in np.exp(rng.normal(0, 0.1 * s, 3))) for _ in VOWEL_NAMES)
    return Voice(
        gender=g, f0=f0, f0_range=float(rng.uniform(1.0, 3.0)), vtl=vtl, accent=accent,
        f_high=high_formants(rng, vtl, s),
        bw_scale=float(np.exp(rng.normal(0, 0.45 * s))), tilt=float(rng.uniform(0.6, 1.6)),
        breath=float(np.exp(rng.uniform(np.log(0.03), np.log(0.4)))),
        jitter=float(rng.uniform(0.004, 0.03)), shimmer=float(rng.uniform(0.03, 0.15)))


def high_formants(rng: np.random.Generator, vtl: float, spread: float = 1.0) -> tuple[float, ...]:
    """F4, F5, ... of one speaker up to past SR/2 + 1 kHz: near (2k-1) x 500 Hz x vtl (the resonances
    of a uniform 17.5 cm tube), each moved by its own speaker-specific factor, at least 400 Hz apart."""
    out: list[float] = []
    k = 4
    while not out or out[-1] < SR / 2 + 1000.0:
        f = (2 * k - 1) * 500.0 * vtl * float(np.exp(rng.normal(0, 0.1 * spread)))
        out.append(max(f, out[-1] + 400.0) if out else f)
        k += 1
    return tuple(out)


def blend_voices(a: Voice, b: Voice, w: float) -> Voice:
    """A voice that has b's gross traits (F0, VTL) weighted by w and a's fine traits (voice conversion)."""
    vtl = float(a.vtl ** (1 - w) * b.vtl ** w)
    return replace(a, f0=float(a.f0 ** (1 - w) * b.f0 ** w), vtl=vtl,
                   f_high=tuple(f / a.vtl * vtl for f in a.f_high))


def formant_tracks(voice: Voice, tr: Tracks) -> np.ndarray:
    """[T, 3 + K] formant frequencies of this voice: F1-F3 from the phones, F4 and above fixed."""
    acc = np.asarray(voice.accent)                                 # [V, 3]
    mult = np.where(tr.vowel[:, None] >= 0, acc[np.maximum(tr.vowel, 0)], 1.0)
    f13 = tr.formants * voice.vtl * mult
    f13[:, 2] = np.minimum(f13[:, 2], voice.f_high[0] - 300.0)
    high = np.broadcast_to(np.asarray(voice.f_high), (len(f13), len(voice.f_high)))
    return np.concatenate([f13, high], axis=1)


def vocal_tract(formants: np.ndarray, bw_scale: float, tilt: float) -> np.ndarray:
    """[T, F] magnitude response: cascade of resonators F^2/((F^2-f^2) + j f B), times tilt."""
    fk = formants[:, None, :]                                      # [T, 1, K]
    bk = bw_scale * (50.0 + 0.06 * fk)                             # wider bands higher up
    f = FREQS[None, :, None]
    h = fk ** 2 / np.sqrt((fk ** 2 - f ** 2) ** 2 + (f * bk) ** 2)
    env = np.prod(h, axis=2)
    src = (1.0 + (FREQS / 300.0) ** 2) ** (-tilt / 2) * FREQS / (FREQS + 80.0)   # source + radiation
    return env * src[None, :]


def higher_poles(last: float, spacing: float, count: int = 400) -> np.ndarray:
    """[F] Klatt's higher-pole correction: the low-frequency skirts of the resonances above the last
    synthesised one (every `spacing` Hz, as in a uniform tube), which a truncated cascade leaves out
    and which hold the high band up (without them 5-7 kHz lies 20-30 dB too low)."""
    fk = last + spacing * np.arange(1, count + 1)[:, None]
    return np.prod(fk ** 2 / (fk ** 2 - FREQS[None, :] ** 2), axis=0)


def frication_filter(tr: Tracks, vtl: float) -> np.ndarray:
    """[T, F] Gaussian band (in log frequency) per frame for the noise source."""
    lf = np.log2(np.maximum(FREQS, 50.0))[None, :]
    return np.exp(-0.5 * ((lf - np.log2(tr.fc * vtl ** 0.5)[:, None]) / tr.bw[:, None]) ** 2)


def excitation(voice: Voice, f0_samples: np.ndarray, amp_samples: np.ndarray, rng: np.random.Generator,
               *, jitter: float, shimmer: float, breath: float, harmonic: bool = False) -> np.ndarray:
    """Glottal source: pulses (or a smooth harmonic series) plus cycle-modulated aspiration noise."""
    n = len(f0_samples)
    hold = 64                                                     # jitter changes about once a period
    jit = np.repeat(rng.standard_normal(n // hold + 1), hold)[:n]
    f0 = f0_samples * (1.0 + jitter * jit)
    phase = np.cumsum(f0) / SR
    if harmonic:
        k = np.arange(1, 48)[:, None]
        band = (k * f0[None, :] < 0.45 * SR)
        src = (np.sin(2 * np.pi * k * phase[None, :]) * band).sum(0) * np.sqrt(2.0 * f0 / SR)
    else:
        cyc = np.floor(phase)
        at = np.flatnonzero(np.diff(cyc, prepend=cyc[0]) > 0)
        src = np.zeros(n)
        src[at] = np.maximum(1.0 + shimmer * rng.standard_normal(len(at)), 0.1)
    noise = rng.standard_normal(n) * (0.6 + 0.4 * np.cos(2 * np.pi * phase)) * np.sqrt(f0 / SR)
    return (src + breath * noise) * amp_samples


def stft(x: np.ndarray) -> np.ndarray:
    return scipy.signal.stft(x, nperseg=NFFT, noverlap=NFFT - HOP)[2].T          # [T, F]


def istft(z: np.ndarray, n: int) -> np.ndarray:
    return scipy.signal.istft(z.T, nperseg=NFFT, noverlap=NFFT - HOP)[1][:n]


def synthesize(voice: Voice, tr: Tracks, f0_frames: np.ndarray, rng: np.random.Generator, *,
               tilt_delta: float = 0.0, breath_scale: float = 1.0, harmonic: bool = False,
               jitter_scale: float = 1.0) -> np.ndarray:
    """Clean speech at SR for tracks on the grid k*HOP (len(tr.times) frames -> (T-1)*HOP samples)."""
    t = len(tr.times)
    n = (t - 1) * HOP
    grid = np.arange(t) * HOP
    s = np.arange(n)
    f0_s = np.interp(s, grid, f0_frames)
    amp_s = np.interp(s, grid, tr.voice)
    exc = excitation(voice, f0_s, amp_s, rng, jitter=voice.jitter * jitter_scale,
                     shimmer=voice.shimmer * jitter_scale, breath=voice.breath * breath_scale,
                     harmonic=harmonic)
    fric = rng.standard_normal(n) * np.interp(s, grid, tr.noise) * 0.1
    vt = vocal_tract(formant_tracks(voice, tr), voice.bw_scale, voice.tilt + tilt_delta)
    vt = vt * higher_poles(voice.f_high[-1], 1000.0 * voice.vtl)[None, :]
    z = stft(exc) * vt + stft(fric) * frication_filter(tr, voice.vtl)
    return istft(z, n)
