"""Temporal pooling layers: [B, C, T] -> [B, out_dim], selected by `model.pooling.name`.

Standard deviations follow a convention set by the pooling's `std` mapping (StdOptions), so that
checkpoints of other toolkits give their own numbers:
- default: population variance (divide by T), two-pass E[(x - mean)^2], floored by
  max(var, 1e-7); attentive pooling with uniform weights is then exactly TSP;
- WeSpeaker TSTP and ECAPA's global context: `{unbiased: true, floor_mode: add}`, i.e.
  sqrt(torch.var(x) + 1e-7); WeSpeaker ASTP's weighted stats: `{two_pass: false}`
  (E[x^2] - mean^2, clamped);
- ASV-Subtools StatisticsPooling: `{floor: 1.0e-10}` (two-pass, clamped).
Two-pass is the default (it was one-pass before issue 13): in float32 the one-pass difference
E[x^2] - mean^2 loses up to ~1e-3 relative precision on channels whose mean is large against
their spread; two-pass does not.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from common.errors import ConfigError
from common.registry import build_options
from pytorch.models.registry import POOLING


@dataclass
class StdOptions:
    """How a pooling layer turns second-order statistics into a standard deviation."""
    unbiased: bool = False       # divide by T - 1 (torch.var's default); unweighted statistics only
    floor: float = 1e-7          # variance floor
    floor_mode: str = "clamp"    # clamp: sqrt(max(var, floor)); add: sqrt(var + floor)
    two_pass: bool = True        # E[(x - mean)^2]; false: E[x^2] - mean^2 (one pass)

    _choices = {"floor_mode": ("clamp", "add")}

    def check(self, where: str) -> None:
        if self.floor < 0:
            raise ConfigError(f"{where}.floor: must be >= 0, got {self.floor}")


def std_options(cfg: Mapping[str, Any] | None, where: str, weighted: bool = False) -> StdOptions:
    opts = build_options(StdOptions, cfg, where)
    if weighted and opts.unbiased:
        raise ConfigError(f"{where}.unbiased: not defined for attention-weighted statistics "
                          "(context_std takes it)")
    return opts


def _mean_std(x: torch.Tensor, w: torch.Tensor | None = None, unbiased: bool = False,
              floor: float = 1e-7, add_floor: bool = False, two_pass: bool = True,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std over the last axis; `w` (same shape as x or broadcastable) sums to 1 over it.
    `mask` (1 on the valid frames, pytorch.models.masking) restricts the unweighted statistics to
    the valid frames; weighted ones need none, as `w` is 0 on the padding (`_masked_softmax`)."""
    if w is None and mask is not None:
        n = mask.sum(dim=-1)
        mu = (x * mask).sum(dim=-1) / n
        if two_pass:
            d = (x - mu.unsqueeze(-1)) * mask
            var = (d * d).sum(dim=-1) / n
        else:
            var = (x * x * mask).sum(dim=-1) / n - mu * mu
        if unbiased:
            var = var * (n / (n - 1).clamp(min=1))
    elif w is None:
        mu = x.mean(dim=-1)
        if two_pass:
            d = x - mu.unsqueeze(-1)
            var = (d * d).mean(dim=-1)
        else:
            var = (x * x).mean(dim=-1) - mu * mu
        if unbiased:
            t = x.shape[-1]
            var = var * (t / max(t - 1, 1))
    else:
        mu = (x * w).sum(dim=-1)
        if two_pass:
            d = x - mu.unsqueeze(-1)
            var = (d * d * w).sum(dim=-1)
        else:
            var = (x * x * w).sum(dim=-1) - mu * mu
    if add_floor:
        return mu, torch.sqrt(var + floor)
    return mu, torch.sqrt(var.clamp(min=floor))


class _StdConvention(nn.Module):
    """Holds one StdOptions as plain attributes (TorchScript constants) for `_mean_std`."""

    def __init__(self, opts: StdOptions) -> None:
        super().__init__()
        self.unbiased, self.floor = opts.unbiased, float(opts.floor)
        self.add_floor, self.two_pass = opts.floor_mode == "add", opts.two_pass

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return _mean_std(x, w, self.unbiased, self.floor, self.add_floor, self.two_pass, mask)


def _masked_softmax(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax over time; with `mask`, the padded frames get weight 0."""
    if mask is not None:
        logits = logits.masked_fill(mask == 0, float("-inf"))
    return torch.softmax(logits, dim=-1)


@POOLING.register("tap")
class TAP(nn.Module):
    """Temporal average pooling."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x.mean(dim=-1) if mask is None else (x * mask).sum(dim=-1) / mask.sum(dim=-1)


@POOLING.register("tsp")
class TSP(nn.Module):
    """Temporal statistics pooling: mean and standard deviation (Snyder et al. 2018)."""

    def __init__(self, in_dim: int, std: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.stats = _StdConvention(std_options(std, "model.pooling.std"))
        self.out_dim = 2 * in_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mu, sd = self.stats(x, None, mask)
        return torch.cat([mu, sd], dim=1)


@POOLING.register("asp")
class ASP(nn.Module):
    """Attentive statistics pooling (Okabe et al. 2018), channel-dependent attention as in
    ECAPA-TDNN; with `global_context` the attention also sees the utterance mean and std
    (Desplanques et al. 2020). `std` sets the weighted std's convention, `context_std` that of the
    global-context std (see the module doc)."""

    def __init__(self, in_dim: int, hidden: int = 128, global_context: bool = False,
                 channel_wise: bool = True, std: Mapping[str, Any] | None = None,
                 context_std: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.global_context = global_context
        self.stats = _StdConvention(std_options(std, "model.pooling.std", weighted=True))
        self.context_stats = _StdConvention(std_options(context_std, "model.pooling.context_std"))
        self.attn1 = nn.Conv1d(in_dim * (3 if global_context else 1), hidden, 1)
        self.attn2 = nn.Conv1d(hidden, in_dim if channel_wise else 1, 1)
        self.out_dim = 2 * in_dim

    def logits(self, x: torch.Tensor, context: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """Attention logits [B, C or 1, T]; `context` is the (mean, std) of the global context,
        given separately so that pytorch.chunked can pass that of a whole recording."""
        if context is not None:
            # attn1 on [x; mean; std] repeated over time = attn1_x(x) + (W_mu mean + W_sd std):
            # the same numbers as concatenating, with a third of the MACs and no 3C x T tensor.
            c = x.shape[1]
            mu, sd = context
            wgt = self.attn1.weight[:, :, 0]
            ctx = mu @ wgt[:, c:2 * c].t() + sd @ wgt[:, 2 * c:].t()
            h = F.conv1d(x, self.attn1.weight[:, :c], self.attn1.bias) + ctx.unsqueeze(-1)
        else:
            h = self.attn1(x)
        return self.attn2(torch.tanh(h))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        context = self.context_stats(x, None, mask) if self.global_context else None
        w = _masked_softmax(self.logits(x, context), mask)
        mu, sd = self.stats(x, w)
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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, c, t = x.shape
        w = _masked_softmax(self.score(x).view(b, self.heads, self.queries, 1, t),
                            None if mask is None else mask.view(b, 1, 1, 1, t))
        xh = x.view(b, self.heads, 1, self.d, t)
        mu, sd = _mean_std(xh, w)                      # [B, H, Q, d]
        out = torch.cat([mu, sd], dim=-1) if self.std else mu
        return out.reshape(b, -1)


class _HeadScorers(nn.Module):
    """One query of MQMHAWeSpeaker (WeSpeaker's MHASTP): per head, its own 1x1-conv MLP
    d -> hidden (-> tanh -> hidden ...) -> d_s, named as WeSpeaker names it (att_i, tanh_i)."""

    def __init__(self, d: int, heads: int, layers: int, hidden: int, d_s: int, stats: StdOptions) -> None:
        super().__init__()
        dims = [d] + [hidden] * (layers - 1) + [d_s]
        self.heads_att_trans = nn.ModuleList([self._mlp(dims) for _ in range(heads)])
        self.stats = _StdConvention(stats)
        self.heads = heads

    @staticmethod
    def _mlp(dims: list[int]) -> nn.Sequential:
        mlp = nn.Sequential()
        for i in range(len(dims) - 1):
            if i > 0:
                mlp.add_module(f"tanh{i - 1}", nn.Tanh())
            mlp.add_module(f"att_{i}", nn.Conv1d(dims[i], dims[i + 1], 1))
        return mlp

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        chunks = x.chunk(self.heads, dim=1)
        out: list[torch.Tensor] = []
        for h, mlp in enumerate(self.heads_att_trans):
            w = _masked_softmax(mlp(chunks[h]), mask)     # [B, d_s, T], d_s = 1 or d
            mu, sd = self.stats(chunks[h], w)
            out.append(torch.cat([mu, sd], dim=1))
        return torch.cat(out, dim=1)


@POOLING.register("mqmha_wespeaker")
class MQMHAWeSpeaker(nn.Module):
    """WeSpeaker's multi-query multi-head attentive statistics pooling (MQMHASTP), so that its
    checkpoints load: parameters `n_query.{q}.heads_att_trans.{h}.att_{i}.{weight,bias}`, the same
    names and shapes as WeSpeaker's module (the key map is the prefix of the pooling attribute).

    Unlike `mqmha`, every query has its own MLP per head (nothing shared between queries), the
    attention is per channel by default (vector: WeSpeaker's d_s > 1, weights [d, T] per head),
    and the output is ordered [query][head][mean d, std d]: out_dim = 2 * C * queries.
    Keys (WeSpeaker's name in brackets, with its default): heads (head_num, 8), queries
    (query_num, 2), layers (layer_num, 2: convs in each MLP, tanh between them), hidden
    (bottleneck_dim, 64), vector (d_s > 1, true; false = one weight per frame and head),
    std (the std convention, see the module doc; WeSpeaker's numbers need {two_pass: false}).
    """

    def __init__(self, in_dim: int, heads: int = 8, queries: int = 2, layers: int = 2,
                 hidden: int = 64, vector: bool = True, std: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if in_dim % heads:
            raise ValueError(f"mqmha_wespeaker: in_dim {in_dim} is not divisible by heads={heads}")
        if queries < 1 or layers < 1:
            raise ValueError(f"mqmha_wespeaker: need queries >= 1 and layers >= 1, got "
                             f"queries={queries}, layers={layers}")
        if vector not in (True, False):
            raise ValueError(f"mqmha_wespeaker: vector must be true or false, got {vector!r}")
        stats = std_options(std, "model.pooling.std", weighted=True)
        d = in_dim // heads
        self.n_query = nn.ModuleList([_HeadScorers(d, heads, layers, hidden, d if vector else 1, stats)
                                      for _ in range(queries)])
        self.out_dim = 2 * in_dim * queries

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([query(x, mask) for query in self.n_query], dim=1)
