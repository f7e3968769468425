"""Loss registry: `build_loss(loss_cfg, embed_dim, num_classes)`.

Every loss is an nn.Module holding its own classifier weights, with
`forward(emb[B, D], labels[B]) -> (loss, logits[B, C])` and `set_margin(m)` (a no-op for losses
without a margin) so the margin scheduler and large-margin stages can change it during training.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from common.registry import Registry

LOSSES = Registry("loss")


def build_loss(loss_cfg: Mapping[str, Any], embed_dim: int, num_classes: int) -> nn.Module:
    """Build `loss_cfg['name']`; embed_dim and num_classes come from the model and the data."""
    return LOSSES.build(loss_cfg, where="loss", embed_dim=embed_dim, num_classes=num_classes)
