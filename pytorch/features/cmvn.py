"""Cepstral mean (and variance) normalisation.

`sliding_cmvn` follows Kaldi's apply-cmvn-sliding (SlidingWindowCmnInternal in feature-functions.cc),
window bounds and all, but computes every window at once from cumulative sums in float64.
"""
from __future__ import annotations

from typing import Any

import torch

from common.registry import build_options
from pytorch.features.options import SlidingCmvnOptions


def _window_bounds(t: int, o: SlidingCmvnOptions, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    frame = torch.arange(t, device=device)
    if o.center:
        start = frame - o.cmn_window // 2
        end = start + o.cmn_window
    else:
        start = frame - o.cmn_window
        end = frame + 1
    shift = (-start).clamp_min(0)  # a window starting before 0 slides right
    start, end = start + shift, end + shift
    if not o.center:
        end = torch.clamp_min(frame + 1, o.min_cmn_window)
    over = (end - t).clamp_min(0)  # a window ending past the last frame slides left
    start, end = (start - over).clamp_min(0), end - over
    return start, end


def sliding_cmvn(feats: torch.Tensor, **opts: Any) -> torch.Tensor:
    """feats [T, D] or [B, T, D].

    Options (Kaldi defaults): cmn_window=600, min_cmn_window=100, center=False, norm_vars=False.
    """
    o = build_options(SlidingCmvnOptions, opts, "sliding cmvn options")
    squeeze = feats.dim() == 2
    x = (feats.unsqueeze(0) if squeeze else feats).to(torch.float64)
    t = x.shape[1]
    if t == 0:
        return feats.clone()
    start, end = _window_bounds(t, o, x.device)
    n = (end - start).to(torch.float64)[None, :, None]
    zero = x.new_zeros(x.shape[0], 1, x.shape[2])
    csum = torch.cat([zero, x.cumsum(1)], dim=1)
    mean = (csum[:, end] - csum[:, start]) / n
    out = x - mean
    if o.norm_vars:
        csq = torch.cat([zero, (x * x).cumsum(1)], dim=1)
        var = ((csq[:, end] - csq[:, start]) / n - mean * mean).clamp_min(1e-10)
        out = torch.where(n == 1, torch.zeros_like(out), out / var.sqrt())
    out = out.to(feats.dtype)
    return out[0] if squeeze else out


def utterance_cmvn(feats: torch.Tensor, norm_vars: bool = False) -> torch.Tensor:
    """Whole-utterance mean (and variance) normalisation over the time axis of [T, D] or [B, T, D]."""
    x = feats.to(torch.float64)
    mean = x.mean(dim=-2, keepdim=True)
    out = x - mean
    if norm_vars:
        var = (out * out).mean(dim=-2, keepdim=True).clamp_min(1e-10)
        out = out / var.sqrt()
    return out.to(feats.dtype)
