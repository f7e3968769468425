"""Kaldi compute-spectrogram-feats (feature-spectrogram.cc): log power spectrum.

As in Kaldi, bin 0 (DC) is replaced by the frame's log energy. At 16 kHz with
frame_length 32 ms (512 samples) there are 257 bins.
"""
from __future__ import annotations

from typing import Any

import torch

from common.registry import build_options
from pytorch.features.base import KaldiFeature
from pytorch.features.options import SpectrogramOptions
from pytorch.features.window import FLT_EPSILON, apply_energy_floor, power_spectrum


class Spectrogram(KaldiFeature):
    """`Spectrogram(frame_length=32, dither=0.0, ...)`; output dim padded_window_size/2 + 1."""

    def __init__(self, **opts: Any) -> None:
        super().__init__(build_options(SpectrogramOptions, opts, "spectrogram options"))

    @property
    def dim(self) -> int:
        return self.opts.padded_window_size // 2 + 1

    def compute(self, wave: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        o = self.opts
        frames, energy = self.frames(wave, o.raw_energy, generator)
        spec = power_spectrum(frames).clamp_min(FLT_EPSILON).log()
        spec[..., 0] = apply_energy_floor(energy, o.energy_floor)
        return spec
