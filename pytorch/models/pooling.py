"""Temporal pooling layers: [B, C, T] -> [B, out_dim], selected by `model.pooling.name`.

Standard deviations are population ones (divide by T) with a floor, so that attentive
pooling with uniform weights is exactly TSP.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pytorch.models.registry import POOLING


def _mean_std(x: torch.Tensor, w: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std over the last axis; `w` (same shape as x or broadcastable) sums to 1 over it."""
    if w is None:
        mu = x.mean(dim=-1)
        var = (x * x).mean(dim=-1) - mu * mu
    else:
        mu = (x * w).sum(dim=-1)
        var = (x * x * w).sum(dim=-1) - mu * mu
    return mu, torch.sqrt(var.clamp(min=1e-7))   # variance floor (a literal: TorchScript-friendly)


@POOLING.register("tap")
class TAP(nn.Module):
    """Temporal average pooling."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)


@POOLING.register("tsp")
class TSP(nn.Module):
    """Temporal statistics pooling: mean and standard deviation (Snyder et al. 2018)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = 2 * in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, sd = _mean_std(x)
        return torch.cat([mu, sd], dim=1)


@POOLING.register("asp")
class ASP(nn.Module):
    """Attentive statistics pooling (Okabe et al. 2018), channel-dependent attention as in
    ECAPA-TDNN; with `global_context` the attention also sees the utterance mean and std
    (Desplanques et al. 2020)."""

    def __init__(self, in_dim: int, hidden: int = 128, global_context: bool = False,
                 channel_wise: bool = True) -> None:
        super().__init__()
        self.global_context = global_context
        self.attn1 = nn.Conv1d(in_dim * (3 if global_context else 1), hidden, 1)
        self.attn2 = nn.Conv1d(hidden, in_dim if channel_wise else 1, 1)
        self.out_dim = 2 * in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.global_context:
            # attn1 on [x; mean; std] repeated over time = attn1_x(x) + (W_mu mean + W_sd std):
            # the same numbers as concatenating, with a third of the MACs and no 3C x T tensor.
            c = x.shape[1]
            mu, sd = _mean_std(x)
            wgt = self.attn1.weight[:, :, 0]
            ctx = mu @ wgt[:, c:2 * c].t() + sd @ wgt[:, 2 * c:].t()
            h = F.conv1d(x, self.attn1.weight[:, :c], self.attn1.bias) + ctx.unsqueeze(-1)
        else:
            h = self.attn1(x)
        w = torch.softmax(self.attn2(torch.tanh(h)), dim=-1)
        mu, sd = _mean_std(x, w)
        return torch.cat([mu, sd], dim=1)


@POOLING.register("mqmha")
class MQMHA(nn.Module):
    """Multi-query multi-head attentive statistics pooling (Zhao et al. 2022).

    The C channels are split into `heads` groups; each group has `queries` attention vectors
    (a linear scorer, or a tanh MLP when hidden > 0) giving weights over time, and the pooled
    output concatenates the weighted means (and stds) of every head and query:
    out_dim = C * queries * (2 if std else 1).
    """

    def __init__(self, in_dim: int, heads: int = 4, queries: int = 2, hidden: int = 0,
                 std: bool = True) -> None:
        super().__init__()
        if in_dim % heads:
            raise ValueError(f"mqmha: in_dim {in_dim} is not divisible by heads={heads}")
        self.heads, self.queries, self.std = heads, queries, std
        d = in_dim // heads
        # Grouped 1x1 convs score all heads at once: group h sees only its own d channels.
        if hidden > 0:
            self.score = nn.Sequential(nn.Conv1d(in_dim, hidden * heads, 1, groups=heads), nn.Tanh(),
                                       nn.Conv1d(hidden * heads, queries * heads, 1, groups=heads))
        else:
            self.score = nn.Conv1d(in_dim, queries * heads, 1, groups=heads)
        self.d = d
        self.out_dim = in_dim * queries * (2 if std else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        w = torch.softmax(self.score(x).view(b, self.heads, self.queries, 1, t), dim=-1)
        xh = x.view(b, self.heads, 1, self.d, t)
        mu, sd = _mean_std(xh, w)                      # [B, H, Q, d]
        out = torch.cat([mu, sd], dim=-1) if self.std else mu
        return out.reshape(b, -1)
