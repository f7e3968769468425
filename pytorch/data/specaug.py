"""SpecAugment time and frequency masking (Park et al. 2019), batched and device-agnostic.

Mask positions are drawn on the CPU from an explicit generator (so they are reproducible whatever
the device) and applied to the features on their own device. Masked cells are set to zero, which
after mean normalisation is the utterance mean.
"""
from __future__ import annotations

import torch

from pytorch.data.options import SpecAugOptions


def _bands(n: int, size: int, max_width: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """[n, size] bool: the union of `count` random bands of width 0..max_width per row."""
    pos = torch.arange(size)
    out = torch.zeros(n, size, dtype=torch.bool)
    max_width = min(max_width, size)
    for _ in range(count):
        width = torch.randint(0, max_width + 1, (n,), generator=gen)
        start = (torch.rand(n, generator=gen) * (size - width + 1)).floor().long()
        out |= (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + width)[:, None])
    return out


def spec_augment(feats: torch.Tensor, opts: SpecAugOptions, gen: torch.Generator) -> torch.Tensor:
    """Masks each of the B utterances of feats[B, T, F] with probability opts.prob."""
    if opts.prob <= 0:
        return feats
    b, t, f = feats.shape
    apply = torch.rand(b, generator=gen) < opts.prob
    time = _bands(b, t, opts.max_time_width, opts.num_time_masks, gen)
    freq = _bands(b, f, opts.max_freq_width, opts.num_freq_masks, gen)
    mask = (time[:, :, None] | freq[:, None, :]) & apply[:, None, None]
    return feats.masked_fill(mask.to(feats.device), 0.0)
