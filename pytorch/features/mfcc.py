"""Kaldi MFCC (feature-mfcc.cc): DCT of log mel energies, cepstral lifter, C0 replaced by log energy."""
from __future__ import annotations

import math
from typing import Any

import torch

from common.registry import build_options
from pytorch.features.base import KaldiFeature
from pytorch.features.mel import dct_matrix, lifter_coeffs, mel_matrix
from pytorch.features.options import MfccOptions
from pytorch.features.window import FLT_EPSILON, apply_energy_floor, power_spectrum


class Mfcc(KaldiFeature):
    """`Mfcc(num_ceps=30, num_mel_bins=30, ...)`; keys are Kaldi's option names (see MfccOptions)."""

    def __init__(self, **opts: Any) -> None:
        super().__init__(build_options(MfccOptions, opts, "mfcc options"))
        o = self.opts
        dct = dct_matrix(o.num_mel_bins, o.num_ceps)
        if o.cepstral_lifter != 0.0:
            dct = dct * lifter_coeffs(o.num_ceps, o.cepstral_lifter)[None, :]  # lifter folded into the DCT
        self._masters["mel_dct"] = mel_matrix(o)
        self._masters["dct"] = dct

    @property
    def dim(self) -> int:
        return self.opts.num_ceps

    def compute(self, wave: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        o = self.opts
        frames, energy = self.frames(wave, o.raw_energy if o.use_energy else None, generator)
        spec = power_spectrum(frames)
        mel = torch.matmul(spec, self.const("mel_dct", spec)).clamp_min(FLT_EPSILON).log()
        ceps = torch.matmul(mel, self.const("dct", mel))
        if o.use_energy:
            ceps[..., 0] = apply_energy_floor(energy, o.energy_floor)
        if o.htk_compat:
            c0 = ceps[..., :1] if o.use_energy else ceps[..., :1] * math.sqrt(2.0)
            ceps = torch.cat([ceps[..., 1:], c0], dim=-1)
        return ceps
