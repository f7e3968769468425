"""Two-speaker mixtures for the overlap recipe.

Source B starts at an offset chosen for a target overlap ratio and is scaled to a signal-to-
interference ratio (SIR, A over B, active powers). Both sources go through the same room and EQ;
the written source images s1, s2 are those reverberant, equalised, placed signals, so
mix = s1 + s2 + a little noise. The overlap ratio is overlap time / mixture duration.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from local.synthetic.noises import NOISES, room_impulse_response
from local.synthetic.sessions import Session, active_power, eq_response


@dataclass(frozen=True)
class Placement:
    n: int            # mixture length (samples)
    a: tuple[int, int]
    b: tuple[int, int]

    @property
    def overlap(self) -> float:
        return max(0, min(self.a[1], self.b[1]) - max(self.a[0], self.b[0])) / self.n


def place(na: int, nb: int, ratio: float) -> Placement:
    """A at 0, B starting so that the overlap is about `ratio` of the union (ratio 1: B inside A)."""
    # union = na + nb - ov and ov = ratio * union  =>  ov = ratio (na + nb) / (1 + ratio)
    ov = min(int(round(ratio * (na + nb) / (1 + ratio))), nb, na)
    start = na - ov
    return Placement(max(na, start + nb), (0, na), (start, start + nb))


def _room(x: np.ndarray, s: Session) -> np.ndarray:
    n = len(x)
    if s.rt60 > 0:
        rir = room_impulse_response(np.random.default_rng(s.rir_seed), s.rt60, s.drr_db)
        x = np.fft.irfft(np.fft.rfft(x, n + len(rir)) * np.fft.rfft(rir, n + len(rir)))[:n]
    return np.fft.irfft(np.fft.rfft(x) * eq_response(s, n), n)


def mix(a: np.ndarray, b: np.ndarray, ratio: float, sir_db: float, s: Session,
        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, Placement]:
    """(mixture, image of a, image of b, placement), all at the mixture length and level."""
    pl = place(len(a), len(b), ratio)
    b = b * np.sqrt(active_power(a) / active_power(b) * 10 ** (-sir_db / 10))
    s1, s2 = np.zeros(pl.n), np.zeros(pl.n)
    s1[pl.a[0]:pl.a[1]] = a
    s2[pl.b[0]:pl.b[1]] = b
    s1, s2 = _room(s1, s), _room(s2, s)
    noise = NOISES[s.noise](rng, pl.n) * np.sqrt(active_power(s1 + s2) * 10 ** (-s.snr_db / 10))
    g = 10 ** (s.gain_db / 20) / np.sqrt(active_power(s1 + s2 + noise))
    peak = np.abs(s1 + s2 + noise).max() * g
    if peak > 0.99:   # keep the sum unclipped so mix = s1 + s2 + noise holds
        g *= 0.99 / peak
    return (s1 + s2 + noise) * g, s1 * g, s2 * g, pl
