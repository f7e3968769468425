"""Phone inventory, random phone-like utterances, and per-frame articulatory tracks.

An utterance is a list of (phone, seconds). `articulation_tracks` turns it into per-frame targets
(formants F1-F3, voicing and frication amplitudes, frication band) on a time grid; formant targets
are interpolated across consonants and smoothed, which is the coarticulation: a vowel's formants
glide towards its neighbours' instead of jumping.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d


@dataclass(frozen=True)
class Phone:
    kind: str                       # vowel, approx, nasal, fric, plosive, sil
    dur: float                      # mean duration in seconds at rate 1
    formants: tuple[float, float, float] | None = None   # adult-male targets (Hz); None: coarticulated
    voice: float = 0.0              # voicing amplitude
    noise: float = 0.0              # frication amplitude
    fc: float = 0.0                 # frication band centre (Hz)
    bw: float = 0.5                 # frication band width (octaves, Gaussian sigma in log2)


# Formant targets: Peterson & Barney (1952) adult-male means, rounded.
VOWELS = {
    "i": (270, 2290, 3010), "I": (390, 1990, 2550), "e": (530, 1840, 2480), "ae": (660, 1720, 2410),
    "a": (730, 1090, 2440), "o": (570, 840, 2410), "U": (440, 1020, 2240), "u": (300, 870, 2240),
    "V": (640, 1190, 2390), "er": (490, 1350, 1690),
}

PHONES: dict[str, Phone] = {v: Phone("vowel", 0.11, f, voice=1.0) for v, f in VOWELS.items()}
PHONES.update({
    "l": Phone("approx", 0.06, (360, 1100, 2600), voice=0.7),
    "r": Phone("approx", 0.06, (420, 1300, 1600), voice=0.7),
    "w": Phone("approx", 0.05, (300, 700, 2200), voice=0.7),
    "j": Phone("approx", 0.05, (280, 2200, 2900), voice=0.7),
    "m": Phone("nasal", 0.07, (250, 1100, 2200), voice=0.45),
    "n": Phone("nasal", 0.06, (250, 1600, 2500), voice=0.45),
    "s": Phone("fric", 0.10, noise=0.5, fc=6000, bw=0.35),
    "sh": Phone("fric", 0.10, noise=0.5, fc=3200, bw=0.45),
    "f": Phone("fric", 0.09, noise=0.18, fc=5000, bw=1.2),
    "h": Phone("fric", 0.06, noise=0.15, fc=1500, bw=1.0),
    "z": Phone("fric", 0.08, noise=0.3, fc=6000, bw=0.35, voice=0.35),
    "v": Phone("fric", 0.07, noise=0.12, fc=5000, bw=1.2, voice=0.4),
    "p": Phone("plosive", 0.09, noise=0.45, fc=900, bw=1.0),
    "t": Phone("plosive", 0.08, noise=0.55, fc=4200, bw=0.6),
    "k": Phone("plosive", 0.09, noise=0.5, fc=2000, bw=0.5),
    "b": Phone("plosive", 0.07, noise=0.3, fc=900, bw=1.0, voice=0.15),
    "d": Phone("plosive", 0.06, noise=0.35, fc=4000, bw=0.6, voice=0.15),
    "g": Phone("plosive", 0.07, noise=0.35, fc=2000, bw=0.5, voice=0.15),
    "_": Phone("sil", 0.2),
})
CONSONANTS = [p for p, ph in PHONES.items() if ph.kind not in ("vowel", "sil")]
VOWEL_NAMES = list(VOWELS)
_NAMES = list(PHONES)
_KIND_OF = {p: ph.kind for p, ph in PHONES.items()}


def sample_phones(rng: np.random.Generator, total: float, rate: float, *, pause: tuple[float, float],
                  vowel_len: tuple[float, float] = (1.0, 1.0), p_coda: float = 0.35,
                  words_per_phrase: tuple[int, int] = (2, 5)) -> list[tuple[str, float]]:
    """Syllables (C)(C)V(C) grouped into words and phrases until `total` seconds are filled.

    `rate` > 1 speaks faster; `vowel_len` scales vowel durations (singing sustains vowels);
    `pause` is the (min, max) silence between phrases in seconds.
    """
    seq: list[tuple[str, float]] = [("_", float(rng.uniform(0.05, 0.2)))]
    t = seq[0][1]
    while t < total:
        for _ in range(int(rng.integers(words_per_phrase[0], words_per_phrase[1] + 1))):
            for _ in range(int(rng.integers(1, 4))):
                syl = []
                n_onset = int(rng.choice(3, p=(0.2, 0.65, 0.15)))
                syl += [str(c) for c in rng.choice(CONSONANTS, n_onset)]
                syl.append(str(rng.choice(VOWEL_NAMES)))
                if rng.random() < p_coda:
                    syl.append(str(rng.choice(CONSONANTS)))
                for p in syl:
                    ph = PHONES[p]
                    d = ph.dur * float(rng.lognormal(0.0, 0.25)) / rate
                    if ph.kind == "vowel":
                        d *= float(rng.uniform(*vowel_len))
                    seq.append((p, d))
                    t += d
            if rng.random() < 0.3:   # short word break
                d = float(rng.uniform(0.03, 0.12))
                seq.append(("_", d))
                t += d
            if t >= total:
                break
        d = float(rng.uniform(*pause))
        seq.append(("_", d))
        t += d
    return seq


@dataclass
class Tracks:
    """Per-frame articulation on the grid `times` (seconds)."""
    times: np.ndarray
    formants: np.ndarray    # [T, 3] F1-F3 of an adult male (the voice scales them)
    voice: np.ndarray       # [T] voicing amplitude
    noise: np.ndarray       # [T] frication amplitude
    fc: np.ndarray          # [T] frication centre (Hz)
    bw: np.ndarray          # [T] frication width (octaves)
    vowel: np.ndarray       # [T] index into VOWEL_NAMES of the current vowel, -1 elsewhere
    onsets: np.ndarray      # [T] bool: first frame of a vowel (where accents/notes start)


def articulation_tracks(seq: list[tuple[str, float]], times: np.ndarray, hop: float,
                        coartic: float = 0.025) -> Tracks:
    """Sample the phone sequence on `times`; smooth formants over `coartic` seconds (coarticulation)."""
    ends = np.cumsum([d for _, d in seq])
    idx = np.minimum(np.searchsorted(ends, times, side="right"), len(seq) - 1)
    names = [p for p, _ in seq]
    ph = [PHONES[p] for p in names]
    starts = ends - np.array([d for _, d in seq])
    # Plosives: closure (silent, or a weak voice bar) then a burst in the last 30% of the phone.
    pos = (times - starts[idx]) / np.maximum(ends[idx] - starts[idx], 1e-6)
    is_plo = np.array([p.kind == "plosive" for p in ph])[idx]
    burst = is_plo & (pos > 0.7)
    voice = np.array([p.voice for p in ph])[idx]
    noise = np.array([p.noise for p in ph])[idx]
    noise = np.where(is_plo & ~burst, 0.0, noise)
    fc = np.array([p.fc if p.fc else 3000.0 for p in ph])[idx]
    bw = np.array([p.bw for p in ph])[idx]
    form = np.array([p.formants if p.formants else (np.nan,) * 3 for p in ph], dtype=float)[idx]
    # Consonants without targets take the line between their neighbours' targets.
    ok = ~np.isnan(form[:, 0])
    if ok.any():
        for k in range(3):
            form[:, k] = np.interp(times, times[ok], form[ok, k])
    else:
        form[:] = (500.0, 1500.0, 2500.0)
    sig = coartic / hop
    form = gaussian_filter1d(form, sig, axis=0, mode="nearest")
    voice = gaussian_filter1d(voice, 0.6, mode="nearest")
    noise = gaussian_filter1d(noise, 0.5, mode="nearest")
    vowel_of = np.array([VOWEL_NAMES.index(n) if n in VOWELS else -1 for n in names])[idx]
    onsets = (vowel_of >= 0) & np.r_[True, idx[1:] != idx[:-1]]
    return Tracks(times, form, voice, noise, fc, bw, vowel_of, onsets)
