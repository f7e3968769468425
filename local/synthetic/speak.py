"""One clean utterance of a voice in a genre: phones -> tracks -> F0 -> source-filter speech."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from local.synthetic.genres import GENRES, f0_contour
from local.synthetic.phones import Tracks, articulation_tracks, sample_phones
from local.synthetic.sessions import active_power
from local.synthetic.voices import HOP, SR, Voice, synthesize


@dataclass
class Spoken:
    wave: np.ndarray        # clean speech, active power 1
    tracks: Tracks
    f0: np.ndarray          # per frame (Hz)


def n_samples(dur: float) -> int:
    """Utterance lengths are whole STFT hops so the frame grid and the samples line up."""
    return max(int(round(dur * SR / HOP)), 8) * HOP   # >= one STFT window


def speak(voice: Voice, genre: str, rng: np.random.Generator, n: int, *, rate: float = 1.0,
          f0_shift: float = 1.0, tilt_delta: float = 0.0,
          f0_transform: Callable[[np.ndarray, Tracks], np.ndarray] | None = None,
          **synth_kw: float | bool) -> Spoken:
    """`n` samples (a multiple of HOP) of random phones spoken by `voice` in `genre`."""
    g = GENRES[genre]
    hop = HOP / SR
    seq = sample_phones(rng, n / SR, g.rate * rate, pause=g.pause, vowel_len=g.vowel_len,
                        words_per_phrase=g.words_per_phrase)
    times = np.arange(n // HOP + 1) * hop
    tr = articulation_tracks(seq, times, hop)
    f0 = f0_contour(rng, tr, voice.f0 * f0_shift, voice.f0_range, g, hop)
    if f0_transform is not None:
        f0 = f0_transform(f0, tr)
    x = synthesize(voice, tr, f0, rng, tilt_delta=tilt_delta, **synth_kw)
    return Spoken(x / np.sqrt(active_power(x)), tr, f0)
