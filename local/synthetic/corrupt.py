"""A corrupted copy of the test set: every test utterance under held-out noise, music, babble or room.

Robustness is measured on it (data/test_corrupt: the utterance ids, speakers and trials of
data/test). Nothing in it comes from the augmentation sets (musan/, RIRS_NOISES/): the noises,
music, babble talkers and impulse responses are fresh draws from the corrupt stream's own
generators, and the conditions are harsher than the training augmentation (SNR 0-10 dB, rooms up
to RT60 1 s with the reverberant energy up to 4 dB above the direct sound).
"""
from __future__ import annotations

import numpy as np

from local.synthetic.noises import NOISES, room_impulse_response
from local.synthetic.sessions import active_power, reverberate
from local.synthetic.speak import speak
from local.synthetic.voices import sample_voice

KINDS = ("noise", "music", "babble", "reverb", "reverb+noise")
_NOISE_TYPES = ("white", "pink", "brown", "hum", "crowd")


def _at_snr(x: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """x plus `other` scaled to `snr_db` below the speech (active) power of x."""
    gain = np.sqrt(active_power(x) * 10 ** (-snr_db / 10) / (np.mean(other ** 2) + 1e-12))
    return x + gain * other


def corrupt(x: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """`x` corrupted by `kind` (one of KINDS), at the active level of `x` and clipped like a recording."""
    if kind not in KINDS:
        raise ValueError(f"unknown corruption {kind!r}; one of {', '.join(KINDS)}")
    n = len(x)
    level = active_power(x)
    y = x
    if kind.startswith("reverb"):
        y = reverberate(y, room_impulse_response(rng, float(rng.uniform(0.4, 1.0)), float(rng.uniform(-4.0, 4.0))))
    if kind in ("noise", "reverb+noise"):
        snr = float(rng.uniform(0.0, 10.0) if kind == "noise" else rng.uniform(5.0, 15.0))
        y = _at_snr(y, NOISES[str(rng.choice(_NOISE_TYPES))](rng, n), snr)
    elif kind == "music":
        y = _at_snr(y, NOISES["music"](rng, n), float(rng.uniform(0.0, 10.0)))
    elif kind == "babble":
        # 3-6 talkers never heard elsewhere in the corpus, summed at random relative levels.
        talkers = [speak(sample_voice(rng), "speech", rng, n).wave * 10 ** (rng.uniform(-4, 0) / 20)
                   for _ in range(int(rng.integers(3, 7)))]
        y = _at_snr(y, np.sum(talkers, axis=0), float(rng.uniform(0.0, 10.0)))
    return np.clip(y * np.sqrt(level / active_power(y)), -0.99, 0.99)
