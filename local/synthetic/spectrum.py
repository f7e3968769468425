"""Long-term average spectrum of the generator's voiced speech, per band (dB re the total).

Usage: PYTHONPATH=$ROOT python -m local.synthetic.spectrum [--voices N] [--seed S]
 e.g.: PYTHONPATH=$ROOT python -m local.synthetic.spectrum --voices 12 --seed 0

Voiced frames are those with voicing on and no frication (from the utterance's own tracks), so the
figure shows what the vocal tract passes, not the fricatives' noise.
"""
from __future__ import annotations

import sys

import numpy as np

from common.cli import make_parser, run_main
from local.synthetic.speak import n_samples, speak
from local.synthetic.voices import SR, sample_voice

BANDS = ((0, 1000), (1000, 2000), (2000, 3300), (3300, 5000), (5000, 7000), (7000, 8000))
_FRAME, _HOP, _TRACK_HOP = 512, 256, 128


def voiced_spectrum(wave: np.ndarray, voice_track: np.ndarray, noise_track: np.ndarray) -> np.ndarray:
    """Mean power spectrum [257] of the voiced frames, normalised to sum 1."""
    fr = np.lib.stride_tricks.sliding_window_view(wave, _FRAME)[::_HOP] * np.hanning(_FRAME)
    centre = (np.arange(len(fr)) * _HOP + _FRAME // 2) // _TRACK_HOP
    voiced = (voice_track[centre] > 0.8) & (noise_track[centre] < 0.02)
    p = (np.abs(np.fft.rfft(fr[voiced], axis=1)) ** 2).mean(0)
    return p / p.sum()


def band_db(p: np.ndarray, lo: float, hi: float) -> float:
    f = np.fft.rfftfreq(_FRAME, 1.0 / SR)
    return float(10 * np.log10(p[(f >= lo) & (f < hi)].sum()))


def voice_spectra(n_voices: int, seed: int, seconds: float = 3.0) -> list[np.ndarray]:
    """The voiced spectrum of one `seconds` utterance of each of `n_voices` random voices."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_voices):
        sp = speak(sample_voice(rng), "speech", rng, n_samples(seconds))
        out.append(voiced_spectrum(sp.wave, sp.tracks.voice, sp.tracks.noise))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("spectrum", __doc__)
    ap.add_argument("--voices", type=int, default=12, help="random voices, one 3 s utterance each (default: 12)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the voices and utterances (default: 0)")
    args = ap.parse_args(argv)

    def body() -> None:
        if args.voices < 1:
            raise ValueError(f"--voices must be >= 1, got {args.voices}")
        spectra = voice_spectra(args.voices, args.seed)
        mean = np.mean(spectra, axis=0)
        print("voiced LTAS, dB re total: " + "  ".join(
            f"{lo / 1000:g}-{hi / 1000:g} kHz {band_db(mean, lo, hi):.1f}" for lo, hi in BANDS))
        hb = [band_db(p, 5000, 7000) for p in spectra]
        print(f"5-7 kHz per voice: mean {np.mean(hb):.1f} dB, std {np.std(hb):.1f} dB "
              f"(min {np.min(hb):.1f}, max {np.max(hb):.1f})")

    return run_main("spectrum", body)


if __name__ == "__main__":
    sys.exit(main())
