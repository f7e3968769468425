"""Shared plumbing for the Kaldi feature modules: batching, constant caching, frame counts."""
from __future__ import annotations

import torch

from pytorch.features.options import FrameOptions
from pytorch.features.window import FrameProcessor, as_batch, num_frames


class KaldiFeature(torch.nn.Module):
    """Base of Fbank / Mfcc / Spectrogram.

    forward(wave) takes [N] or [B, N] samples in int16 scale (float samples in [-1, 1) times
    32768, as Kaldi reads WAV files) and returns [T, F] or [B, T, F]. Constants (window, mel and
    DCT matrices) are built once in float64 and cached per (device, dtype) of the input.
    """

    def __init__(self, opts: FrameOptions) -> None:
        super().__init__()
        self.opts = opts
        self.frames = FrameProcessor(opts)
        self._masters: dict[str, torch.Tensor] = {}
        self._cache: dict[tuple[str, torch.device, torch.dtype], torch.Tensor] = {}

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def num_frames(self, num_samples: int) -> int:
        return num_frames(num_samples, self.opts)

    def const(self, name: str, like: torch.Tensor) -> torch.Tensor:
        key = (name, like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = self._masters[name].to(device=like.device, dtype=like.dtype)
        return self._cache[key]

    def compute(self, wave: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, wave: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        batch, squeeze = as_batch(wave)
        if self.num_frames(batch.shape[-1]) == 0:  # too short for one frame (MKL's FFT rejects empty input)
            out = batch.new_zeros(batch.shape[0], 0, self.dim)
        else:
            out = self.compute(batch, generator)
        return out[0] if squeeze else out

    def extra_repr(self) -> str:
        return repr(self.opts)
