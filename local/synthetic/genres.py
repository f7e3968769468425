"""Genres (speaking styles, as in CN-Celeb) and the F0 contours they produce.

A genre sets the speaking rate, pauses, vowel lengths, F0 behaviour (intonation or sung notes with
vibrato) and the background it is usually recorded with (`backing`: none, music, interviewer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from local.synthetic.phones import Tracks


@dataclass(frozen=True)
class Genre:
    rate: float                       # speaking-rate multiplier
    pause: tuple[float, float]        # silence between phrases (s)
    vowel_len: tuple[float, float]    # vowel duration multiplier range
    f0_shift: float                   # mean F0 multiplier
    f0_spread: float                  # intonation range multiplier
    sung: bool = False                # notes on a scale with vibrato instead of intonation
    backing: str = "none"             # none | music | interviewer
    words_per_phrase: tuple[int, int] = (2, 5)


GENRES: dict[str, Genre] = {
    "speech": Genre(1.0, (0.15, 0.4), (1.0, 1.0), 1.0, 1.0),
    "interview": Genre(0.95, (0.3, 0.8), (1.0, 1.1), 1.0, 1.1, backing="interviewer"),
    "vlog": Genre(1.15, (0.1, 0.25), (0.9, 1.0), 1.08, 1.5, backing="music"),
    "singing": Genre(0.8, (0.2, 0.5), (2.5, 6.0), 1.15, 1.0, sung=True, backing="music",
                     words_per_phrase=(2, 3)),
}
GENRE_NAMES = sorted(GENRES)


def f0_contour(rng: np.random.Generator, tr: Tracks, f0_mean: float, range_st: float, genre: Genre,
               hop: float) -> np.ndarray:
    """F0 per frame (Hz): phrase declination + accents + drift, or a sung melody with vibrato."""
    t = len(tr.times)
    base = np.log(f0_mean * genre.f0_shift)
    if genre.sung:
        # One scale degree per vowel onset, held until the next (portamento by smoothing).
        scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14])
        n_on = max(int(tr.onsets.sum()), 1)
        deg = np.clip(np.cumsum(rng.integers(-2, 3, n_on)) + int(rng.integers(1, 4)), 0, len(scale) - 1)
        note = scale[deg] - 6.0
        which = np.maximum(np.cumsum(tr.onsets) - 1, 0)
        st = gaussian_filter1d(note[np.minimum(which, n_on - 1)].astype(float), 0.03 / hop)
        rate = rng.uniform(4.8, 6.2)
        st = st + rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * rate * tr.times)
        return np.exp(base + st * np.log(2) / 12)
    st = np.zeros(t)
    # Declination within phrases: restart at each long silence.
    silent = gaussian_filter1d((tr.voice + tr.noise < 0.05).astype(float), 2) > 0.9
    phrase_id = np.cumsum(np.r_[0, np.diff(silent.astype(int)) == -1])
    start = np.r_[0, np.flatnonzero(np.diff(phrase_id)) + 1][phrase_id]
    st += 1.5 - 2.5 * np.minimum((np.arange(t) - start) * hop / 2.0, 1.0)
    # Accents on some vowel onsets, a smooth random drift, all scaled by the speaker's range.
    acc = np.zeros(t)
    on = np.flatnonzero(tr.onsets)
    acc[on] = rng.normal(0.8, 0.8, len(on)) * (rng.random(len(on)) < 0.45)
    acc = gaussian_filter1d(acc, 0.06 / hop) * (0.06 / hop) * 2.5
    drift = gaussian_filter1d(rng.standard_normal(t), 0.15 / hop) * np.sqrt(0.15 / hop) * 0.8
    st = (st + acc + drift) * range_st * genre.f0_spread / 2.0
    return np.exp(base + st * np.log(2) / 12)
