"""Helpers shared by the pytorch unit tests (imported as `tests.unit.pytorch.conftest`)."""
from __future__ import annotations

import torch
from torch import nn

from pytorch.models import build_model


def random_bn_model(cfg: dict) -> nn.Module:
    """The model of `cfg` in eval mode, with seeded random weights and random BN statistics (so that BN
    folding and masking are not tested on the identity statistics of a fresh model)."""
    torch.manual_seed(0)
    model = build_model(cfg)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()
