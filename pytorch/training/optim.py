"""Optimiser registry: `optim: {name: sgd|adamw, lr: ..., ...}`; keys are the torch constructor's."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from common.registry import Registry

OPTIMIZERS = Registry("optimizer")
OPTIMIZERS.add("sgd", torch.optim.SGD)
OPTIMIZERS.add("adamw", torch.optim.AdamW)


def build_optimizer(optim_cfg: Mapping[str, Any],
                    params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    return OPTIMIZERS.build(optim_cfg, where="optim", params=list(params))
