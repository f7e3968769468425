"""Kaldi fbank (feature-fbank.cc): log mel filterbank energies, optional log energy."""
from __future__ import annotations

from typing import Any

import torch

from common.registry import build_options
from pytorch.features.base import KaldiFeature
from pytorch.features.mel import mel_matrix
from pytorch.features.options import FbankOptions
from pytorch.features.window import FLT_EPSILON, apply_energy_floor, power_spectrum


class Fbank(KaldiFeature):
    """`Fbank(num_mel_bins=80, dither=0.0, ...)`; keys are Kaldi's option names (see FbankOptions)."""

    def __init__(self, **opts: Any) -> None:
        super().__init__(build_options(FbankOptions, opts, "fbank options"))
        self._masters["mel"] = mel_matrix(self.opts)

    @property
    def dim(self) -> int:
        return self.opts.num_mel_bins + int(self.opts.use_energy)

    def compute(self, wave: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        o = self.opts
        frames, energy = self.frames(wave, o.raw_energy if o.use_energy else None, generator)
        spec = power_spectrum(frames)
        if not o.use_power:
            spec = spec.sqrt()
        mel = torch.matmul(spec, self.const("mel", spec))
        if o.use_log_fbank:
            mel = mel.clamp_min(FLT_EPSILON).log()
        if not o.use_energy:
            return mel
        energy = apply_energy_floor(energy, o.energy_floor).unsqueeze(-1)
        return torch.cat([mel, energy] if o.htk_compat else [energy, mel], dim=-1)
