"""Length masks for exact variable-length batches: `model(feats, lengths)`.

A batch of utterances of different lengths is zero-padded to the longest, and the models that
declare ACCEPTS_LENGTHS = True (ECAPA-TDNN, the ResNet trunk family) take the true lengths [B]
(int64) as a second argument. They then give every utterance the embedding it gets alone (equal
up to float rounding), because
- the input of every convolution wider than one frame in time is zero on the padded frames, as
  the zero padding of the convolution is when the utterance runs alone (the padded frames are set
  to zero before it: the bias of a BN-folded conv makes them non-zero after each layer);
- strided convolutions (kernel 3 / padding 1 or kernel 1, as in the ResNets) keep the first
  (T - 1) // s + 1 output frames of a T-frame input, which `strided_lengths` tracks;
- squeeze-excitation means and the poolings' statistics (and attention softmax) cover only the
  valid frames.
Without `lengths` (None) the models run exactly the code they ran before, at no cost.
"""
from __future__ import annotations

import torch
from torch import nn


def time_mask(lengths: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """1.0 on the valid frames of `like` [B, ..., T], 0.0 on the padding, shaped [B, 1, ..., 1, T]."""
    t = like.shape[-1]
    m = (torch.arange(t, device=like.device).unsqueeze(0) < lengths.unsqueeze(1)).to(like.dtype)
    for _ in range(like.dim() - 2):
        m = m.unsqueeze(1)
    return m


def strided_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Valid output frames of a stride-`stride` conv with kernel 3 / padding 1 (or kernel 1)."""
    return torch.div(lengths - 1, stride, rounding_mode="floor") + 1


def masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


def cat_channels(xs: list[torch.Tensor]) -> torch.Tensor:
    """torch.cat over the channels of [B, C, T] maps that keeps a time-major memory layout
    (channels contiguous, as extraction mode's GEMMs produce them: pytorch.gemm_conv); torch.cat
    alone would return channel-major memory. Channel-major inputs get plain torch.cat."""
    if xs[0].dim() == 3 and xs[0].stride(1) == 1 and xs[0].shape[1] > 1:
        return torch.cat([x.transpose(1, 2) for x in xs], dim=2).transpose(1, 2)
    return torch.cat(xs, dim=1)


def accepts_lengths(model: nn.Module) -> bool:
    """True when `model(feats, lengths)` gives each utterance of a padded batch its own embedding
    (an eager module; a TorchScript or ONNX copy of it accepts the same call)."""
    return getattr(type(model), "ACCEPTS_LENGTHS", False) is True


class NoSE(nn.Module):
    """The identity where a block has no squeeze-excitation: every block calls `se(x, mask)`, and
    TorchScript needs one signature for it. No parameters, so checkpoints are unchanged."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x
