"""Embedding-level SASV fusion (baseline B2 of the SASV 2022 challenge, Jung et al. 2022).

A small DNN over the concatenation [enrollment ASV embedding, test ASV embedding, test CM embedding]:
FC layers with leaky ReLU, then 2 classes (index 1: target, index 0: nontarget or spoof). The SASV score
of a trial is the log-odds `logit[1] - logit[0]`.

Not a speaker model (its input is three embeddings, not features), so it has its own registry,
`SASV_MODELS`, and `build_sasv_model(cfg, asv_dim=..., cm_dim=...)`: the two input sizes are runtime
arguments read from the embedding tables, never config keys.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from common.errors import ConfigError
from common.registry import Registry

SASV_MODELS = Registry("sasv model")
TARGET = 1  # the output index of the target class


@SASV_MODELS.register("b2")
class SasvDNN(nn.Module):
    """[enroll ASV, test ASV, test CM] -> FC + leaky ReLU per `hidden` size -> 2 logits. With `l2norm`, each of
    the three embeddings is length-normalised first (the no-norm vs L2-norm comparison)."""

    def __init__(self, asv_dim: int, cm_dim: int, hidden: Sequence[int] = (256, 128, 64),
                 negative_slope: float = 0.3, l2norm: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ConfigError(f"model (b2).hidden: expected a list of layer sizes >= 1, got {hidden!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model (b2).dropout: expected 0 <= dropout < 1, got {dropout!r}")
        self.asv_dim, self.cm_dim = int(asv_dim), int(cm_dim)
        self.l2norm = bool(l2norm)
        sizes = [2 * self.asv_dim + self.cm_dim, *map(int, hidden)]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = nn.LeakyReLU(negative_slope)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(sizes[-1], 2)

    def forward(self, enroll: torch.Tensor, test: torch.Tensor, cm: torch.Tensor) -> torch.Tensor:
        """enroll, test [B, asv_dim], cm [B, cm_dim] -> logits [B, 2]."""
        for name, x, dim in (("enroll", enroll, self.asv_dim), ("test", test, self.asv_dim),
                             ("cm", cm, self.cm_dim)):
            if x.dim() != 2 or x.shape[1] != dim:
                raise ValueError(f"SasvDNN: {name} embeddings must be [batch, {dim}], got {tuple(x.shape)}")
        parts = [enroll, test, cm]
        if self.l2norm:
            parts = [F.normalize(p, dim=1) for p in parts]
        x = torch.cat(parts, dim=1)
        for layer in self.layers:
            x = self.drop(self.act(layer(x)))
        return self.out(x)

    def score(self, enroll: torch.Tensor, test: torch.Tensor, cm: torch.Tensor) -> torch.Tensor:
        """The SASV score [B]: log-odds of the target class."""
        logits = self.forward(enroll, test, cm)
        return logits[:, TARGET] - logits[:, 1 - TARGET]


def build_sasv_model(cfg: Mapping[str, Any], asv_dim: int, cm_dim: int) -> nn.Module:
    """The model named by cfg['name'] (e.g. `b2`), given the embedding sizes."""
    return SASV_MODELS.build(cfg, where="model", asv_dim=asv_dim, cm_dim=cm_dim)
