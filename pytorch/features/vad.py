"""Energy VAD with the semantics of Kaldi's compute-vad (ivector/voice-activity-detection.cc).

Frame t is voiced when at least `vad_proportion_threshold` of the frames in
[t - context, t + context] (clipped to the utterance) have C0 above
`vad_energy_threshold + vad_energy_mean_scale * mean(C0)`.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from common.registry import build_options
from pytorch.features.options import VadOptions


def compute_vad(feats: torch.Tensor, **opts: Any) -> torch.Tensor:
    """feats [T, D] or [B, T, D] (column 0 = log energy) -> float 0/1 decisions [T] or [B, T]."""
    o = build_options(VadOptions, opts, "vad options")
    squeeze = feats.dim() == 2
    if feats.dim() not in (2, 3):
        raise ValueError(f"expected feats of shape [T, D] or [B, T, D], got {tuple(feats.shape)}")
    x = feats.unsqueeze(0) if squeeze else feats
    energy = x[..., 0].to(torch.float64)
    b, t = energy.shape
    if t == 0:
        return feats.new_zeros(energy.shape[1:] if squeeze else energy.shape)
    threshold = torch.full((b, 1), o.vad_energy_threshold, dtype=torch.float64, device=x.device)
    if o.vad_energy_mean_scale != 0.0:
        threshold = threshold + o.vad_energy_mean_scale * energy.mean(dim=1, keepdim=True)
    above = (energy > threshold).to(torch.float64)
    c = o.vad_frames_context
    # Windowed counts by a box filter over zero padding: num = frames above, den = frames inside.
    kernel = torch.ones(1, 1, 2 * c + 1, dtype=torch.float64, device=x.device)
    num = F.conv1d(above.unsqueeze(1), kernel, padding=c).squeeze(1)
    den = F.conv1d(torch.ones_like(above).unsqueeze(1), kernel, padding=c).squeeze(1)
    voiced = (num >= den * o.vad_proportion_threshold).to(feats.dtype)
    return voiced[0] if squeeze else voiced
