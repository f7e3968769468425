"""Multiply-accumulate count of one forward pass, for model_info and the benchmarks.

A torch function mode sees every conv1d/conv2d/linear/matmul call, from modules (their forward
calls the functional op) and from functional code alike (e.g. ASP's split global-context
projection), so nothing is counted twice or missed. Elementwise ops, norms and softmax are not
counted (a small fraction for these models).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode


def _conv(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    w = args[1] if len(args) > 1 else kwargs["weight"]
    return out.numel() * math.prod(w.shape[1:])    # weight [Cout, Cin/groups, *kernel]


def _linear(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    w = args[1] if len(args) > 1 else kwargs["weight"]
    return out.numel() * w.shape[1]


def _matmul(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    return out.numel() * args[0].shape[-1]


_RULES = {F.conv1d: _conv, F.conv2d: _conv, F.linear: _linear, torch.matmul: _matmul, torch.mm: _matmul,
          torch.bmm: _matmul, torch.Tensor.__matmul__: _matmul, torch.Tensor.matmul: _matmul}


class _MacCounter(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        rule = _RULES.get(func)
        if rule is not None:
            self.macs += rule(args, kwargs, out)
        return out


@torch.no_grad()
def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """MACs of `model(x)` (the model is run once; training/eval mode is left as is)."""
    with _MacCounter() as counter:
        model(x)
    return counter.macs


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
