"""Extraction mode's 1-D convolutions as plain GEMMs, with ReLU -> BN fused into one clamp.

Why: on CPU, oneDNN's convolution ran ECAPA-TDNN's 1x1 convolutions clearly slower than MKL's
sgemm on the same shapes (torch.profiler), and those convolutions are about 85% of ECAPA's work;
with this module, extraction mode ran at 1.28-1.68x WeSpeaker's eager ECAPA (BENCHMARKS.md, run D).
A 1x1 convolution of [B, C, T] is the matrix product W [O, C] @ x, or, for time-major memory,
x^T W^T over all B x T frames at once; a wider one is the same product on the k shifted (dilated)
copies of its zero-padded input stacked along the channels (im2col), which is cheap for the narrow
Res2Net groups and the 80-bin stem.

ReLU -> BN (the TDNN / ECAPA layer order, pytorch.models.se.Conv1dReluBn) folds exactly: with the
BN's scale s and shift b per channel, relu(z) * s + b = max(s z + b, b) where s >= 0 and
min(s z + b, b) where s < 0. The scale goes into the convolution's weights and bias, and the layer
becomes one GEMM, one bias add and one clamp with per-channel bounds, instead of a convolution and
two passes over its output. Everything is equal to the eager layers up to float rounding
(tests/unit/pytorch/test_gemm_conv.py).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pytorch.models.se import Conv1dReluBn


def bn_scale_shift(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """y = x * scale + shift for a BN in eval mode."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.affine:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.affine:
        shift = shift + bn.bias
    return scale, shift


def gemm_eligible(conv: nn.Module) -> bool:
    """A Conv1d this module can replace: no groups, stride 1, zero padding given as a number."""
    return (type(conv) is nn.Conv1d and conv.groups == 1 and conv.stride == (1,)
            and conv.padding_mode == "zeros" and not isinstance(conv.padding, str))


class GemmConv1d(nn.Module):
    """`conv` (and, when given, the ReLU -> `bn` after it) as a GEMM. `weight` [O, C, k] and `bias`
    [O] keep nn.Conv1d's names and shapes, folded, for code that reads them (ASP's global context)."""

    def __init__(self, conv: nn.Conv1d, bn: nn.BatchNorm1d | None = None) -> None:
        super().__init__()
        if not gemm_eligible(conv):
            raise ValueError(f"GemmConv1d: unsupported {conv}")
        self.kernel, self.dilation, self.padding = conv.kernel_size[0], conv.dilation[0], int(conv.padding[0])
        with torch.no_grad():
            w = conv.weight.detach().clone()
            b = conv.bias.detach().clone() if conv.bias is not None else w.new_zeros(w.shape[0])
            self.fused = bn is not None
            if bn is not None:
                s, shift = bn_scale_shift(bn)
                w, b = w * s.view(-1, 1, 1), b * s + shift
                inf = torch.full_like(shift, float("inf"))
                lo, hi = torch.where(s >= 0, shift, -inf), torch.where(s >= 0, inf, shift)
            else:
                lo = hi = w.new_zeros(0)
        self.weight = nn.Parameter(w, requires_grad=False)
        self.bias = nn.Parameter(b, requires_grad=False)
        # [O, k*C]: the weights of the k shifted copies of the input, one block of C channels each.
        self.register_buffer("w2d", w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous())
        self.register_buffer("lo", lo.view(-1, 1))
        self.register_buffer("hi", hi.view(-1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.stride(1) == 1:
            return self._time_major(x.transpose(1, 2)).transpose(1, 2)
        if self.kernel == 1 and self.padding == 0:
            cols = x
        else:
            xp = F.pad(x, (self.padding, self.padding)) if self.padding > 0 else x
            t = xp.shape[-1] - self.dilation * (self.kernel - 1)
            cols = torch.cat([xp[:, :, i * self.dilation:i * self.dilation + t] for i in range(self.kernel)], dim=1)
        y = torch.matmul(self.w2d, cols).add_(self.bias.unsqueeze(1))
        if self.fused:
            y = y.clamp_(self.lo, self.hi)
        return y

    def _time_major(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, C] (channels contiguous: ECAPA's input, transposed) -> [B, T', O], one GEMM over
        all B x T' frames; the layout then stays time-major through the following layers."""
        if self.kernel > 1 or self.padding > 0:
            b, t, c = x.shape
            if self.padding > 0:
                xp = x.new_zeros(b, t + 2 * self.padding, c)
                xp[:, self.padding:self.padding + t] = x
            else:
                xp = x
            t = xp.shape[1] - self.dilation * (self.kernel - 1)
            x = torch.cat([xp[:, i * self.dilation:i * self.dilation + t] for i in range(self.kernel)], dim=2)
        y = F.linear(x, self.w2d, self.bias)
        if self.fused:
            y = y.clamp_(self.lo.squeeze(1), self.hi.squeeze(1))
        return y


def gemm_conv1d(model: nn.Module) -> int:
    """Replace, in place, every Conv1dReluBn (BN with running statistics) and every other eligible
    nn.Conv1d of `model` (in eval mode) by a GemmConv1d. Returns the number replaced."""
    n = 0
    for name, child in list(model.named_children()):
        if (isinstance(child, Conv1dReluBn) and gemm_eligible(child.conv)
                and isinstance(child.bn, nn.BatchNorm1d) and child.bn.running_mean is not None):
            setattr(model, name, GemmConv1d(child.conv, child.bn))
            n += 1
        elif gemm_eligible(child):
            setattr(model, name, GemmConv1d(child))
            n += 1
        else:
            n += gemm_conv1d(child)
    return n
