"""Wave-level augmentation: additive noise / music / babble at an SNR, reverberation, speed perturbation.

The signal functions are pure numpy. `Augmenter` draws one choice per utterance, as Kaldi's and
WeSpeaker's recipes do (none, noise, music, babble or reverb with the configured probabilities),
from the item's own random generator so the result depends only on (seed, epoch, index).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import gcd

import numpy as np
from scipy.signal import fftconvolve, resample_poly

from pytorch.data.options import AugmentOptions
from pytorch.data.sources import Source

EPS = 1e-10

# Reads samples [start, start+length) of a source (length None = to the end) as float32 mono.
SegmentLoader = Callable[[Source, int, "int | None"], np.ndarray]


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def fit_length(x: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random `length`-sample crop of `x`, or `x` looped when it is shorter."""
    if x.size >= length:
        start = int(rng.integers(0, x.size - length + 1))
        return x[start:start + length]
    return np.take(x, np.arange(length) % x.size)


def scaled_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """g*noise with g set so that 10*log10(P(speech) / P(g*noise)) = snr_db (zeros for silent noise).

    `noise` must already have the length of `speech`.
    """
    pn = power(noise)
    if pn < EPS:
        return np.zeros_like(speech, dtype=np.float32)
    gain = np.sqrt(power(speech) / (pn * 10.0 ** (snr_db / 10.0)))
    return (gain * noise).astype(np.float32)


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a room impulse response, keeping the direct path aligned and the power unchanged.

    The RIR is scaled to unit energy, the output is taken from the RIR's peak (the direct sound) so
    the words do not move in time, cut to the input length, then rescaled to the input's power so
    the SNR of a later noise step and the loudness seen by the features stay comparable.
    """
    rir = rir.astype(np.float64)
    rir = rir / max(np.sqrt(np.sum(rir * rir)), EPS)
    delay = int(np.argmax(np.abs(rir)))
    out = fftconvolve(speech.astype(np.float64), rir)[delay:delay + speech.size]
    gain = np.sqrt(power(speech) / max(power(out), EPS))
    return (out * gain).astype(np.float32)


def speed_ratio(speed: float) -> tuple[int, int]:
    """(up, down) for resample_poly: speed 0.9 stretches by 10/9, 1.1 shrinks by 10/11."""
    up, down = 1000, int(round(speed * 1000))
    g = gcd(up, down)
    return up // g, down // g


def change_speed(wave: np.ndarray, speed: float) -> np.ndarray:
    """Speed perturbation as sox `speed` does it: resample, so tempo and pitch both change."""
    if speed == 1.0:
        return wave
    up, down = speed_ratio(speed)
    return resample_poly(wave.astype(np.float64), up, down).astype(np.float32)


@dataclass
class AugmentSources:
    """The source lists of each additive / convolutive type (empty when disabled)."""
    noise: list[Source]
    music: list[Source]
    babble: list[Source]
    reverb: list[Source]


class Augmenter:
    """One augmentation choice per utterance with the configured probabilities."""

    TYPES = ("noise", "music", "babble", "reverb")

    def __init__(self, opts: AugmentOptions, sources: AugmentSources, load: SegmentLoader) -> None:
        self.opts = opts
        self.sources = sources
        self.load = load
        probs = [getattr(opts, t).prob if getattr(sources, t) else 0.0 for t in self.TYPES]
        self.choices = ("none",) + self.TYPES
        self.probs = np.array([max(0.0, 1.0 - sum(probs))] + probs)
        self.probs /= self.probs.sum()

    @property
    def active(self) -> bool:
        return self.probs[0] < 1.0

    def choose(self, rng: np.random.Generator) -> str:
        return self.choices[int(rng.choice(len(self.choices), p=self.probs))]

    def _segment(self, src: Source, length: int, rng: np.random.Generator) -> np.ndarray:
        """A random `length`-sample piece of a source, reading only that piece when its length is known."""
        if src.num_samples is not None and src.num_samples > length:
            start = int(rng.integers(0, src.num_samples - length + 1))
            x = self.load(src, start, length)
            if x.size == length:
                return x
        x = self.load(src, 0, None)
        if x.size == 0:
            raise ValueError(f"augmentation source {src.key!r} ({src.rspec}) is empty")
        return fit_length(x, length, rng)

    def _additive(self, kind: str, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sect = getattr(self.opts, kind)
        srcs = getattr(self.sources, kind)
        count = 1
        if kind == "babble":
            lo, hi = sect.num_speakers
            count = int(rng.integers(lo, hi + 1))
        picks = rng.choice(len(srcs), size=count, replace=count > len(srcs))
        # Babble: each talker at its own SNR relative to the clean speech (Kaldi's bg-snrs rule).
        added = np.zeros_like(wave, dtype=np.float32)
        for i in picks:
            snr = float(rng.uniform(*sect.snr))
            added += scaled_noise(wave, self._segment(srcs[int(i)], wave.size, rng), snr)
        return (wave + added).astype(np.float32)

    def _reverb(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        src = self.sources.reverb[int(rng.integers(len(self.sources.reverb)))]
        rir = self.load(src, 0, None)
        return reverberate(wave, rir)

    def __call__(self, wave: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        kind = self.choose(rng)
        if kind == "none":
            return wave, kind
        if kind == "reverb":
            return self._reverb(wave, rng), kind
        return self._additive(kind, wave, rng), kind
