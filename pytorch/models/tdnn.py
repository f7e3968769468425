"""TDNN x-vector (Snyder et al., ICASSP 2018).

Five frame-level layers (affine -> ReLU -> BN, as in Kaldi) of 512, 512, 512, 512 and 1500 units with
input contexts [-2..2], {-2,0,2}, {-3,0,3}, {0}, {0} (unpadded, so T shrinks by 14 frames),
statistics pooling, and the first segment-level affine layer (512) as the embedding: Kaldi's
"xvector a" output, taken before its ReLU. The second segment layer of the Kaldi network is left to
the loss (a classifier on top of the embedding).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pytorch.models.registry import MODELS, build_pooling
from pytorch.models.se import Conv1dReluBn

CONTEXT = 14   # frames lost to the unpadded contexts: 2*2 + 2*2 + 2*3


class XVector(nn.Module):
    def __init__(self, feat_dim: int, hidden: int = 512, stats_dim: int = 1500, embed_dim: int = 512,
                 pooling: Mapping[str, Any] | str | None = None) -> None:
        super().__init__()
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.context = CONTEXT
        self.frames = nn.Sequential(
            Conv1dReluBn(feat_dim, hidden, 5, 1, pad=False),
            Conv1dReluBn(hidden, hidden, 3, 2, pad=False),
            Conv1dReluBn(hidden, hidden, 3, 3, pad=False),
            Conv1dReluBn(hidden, hidden, 1),
            Conv1dReluBn(hidden, stats_dim, 1))
        self.pool = build_pooling(pooling, stats_dim, default="tsp")
        self.segment = nn.Linear(self.pool.out_dim, embed_dim)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[1] <= self.context:
            raise ValueError(f"tdnn: {feats.shape[1]} frames is too short; "
                             f"the x-vector needs > {self.context}")
        return self.segment(self.pool(self.frames(feats.transpose(1, 2))))


MODELS.add("tdnn", XVector)
MODELS.add("xvector", XVector)
