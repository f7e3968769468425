"""The whole-signal embedding of a long recording, computed chunk by chunk in bounded memory.

`embed_long(model, read, num_frames, chunk)` gives the embedding `model(feats[None])` would give
(equal up to float rounding) while only ever holding `chunk` frames plus the receptive-field
context of the model's activations, so peak memory no longer grows with the recording.

Why it is exact. The frame-level layers (convolutions, eval-mode BatchNorm, ReLU) are local in
time: an output frame depends on at most R input frames either side (R, the context, is summed
from the model's convolutions). Each chunk is therefore run with R frames of real context on each
side, and only its central frames are used; at the recording's edges the zero padding is the same
as in the whole-signal run. Chunk starts are multiples of the model's time stride (8 for a ResNet)
so that strided convolutions sample the same frames. The operations that are global over time are
computed from statistics accumulated over the chunks (in float64):
- squeeze-excitation (ECAPA's SE-Res2Net blocks, SE-ResNet blocks): the channel weights depend on
  the mean of the block's map over the whole recording. One pass per SE layer accumulates that
  mean (the later layers are not run), then the layer's weights are fixed for all later passes;
- pooling: TAP and TSP (mean, std) from the sums of x and x^2; ASP with global context first
  accumulates the context mean/std, then the attention-weighted sums with an online softmax
  (running max, rescaled sums), which is the softmax over all frames;
- the layers after the pooling (BN, linear heads) run on the pooled vector.
The cost is one trunk pass per SE layer plus one or two for the pooling, each stopping at the layer
it measures: about 3.5x the whole-signal compute for ECAPA-TDNN (3 SE blocks, ASP with global
context), 1x for a ResNet without SE and TSP, about 9x for SE-ResNet-34 (16 SE blocks).
Supported: ECAPATDNN and the ResNet trunk models (ResNet, SE-ResNet, Res2Net) with TAP, TSP or ASP
pooling. Other models (TDNN without padding, whose output is shorter than its input; MQMHA
poolings; AASIST) make `supports_long()` false and the caller extracts them whole.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import nn

from pytorch.models.ecapa_tdnn import ECAPATDNN
from pytorch.models.pooling import ASP, TAP, TSP
from pytorch.models.resnet import ResNetTrunk
from pytorch.models.se import SE1d, SE2d

MODELS = (ECAPATDNN, ResNetTrunk)
POOLINGS = (TAP, TSP, ASP)


class _Stop(Exception):
    """Raised by a probe hook: the rest of the forward pass is not needed in this pass."""


def supports_long(model: nn.Module) -> bool:
    """True when `embed_long` reproduces `model` exactly (an eager nn.Module, not TorchScript)."""
    return (isinstance(model, MODELS) and not isinstance(model, torch.jit.ScriptModule)
            and isinstance(getattr(model, "pool", None), POOLINGS))


def _layout(model: nn.Module, feat_dim: int) -> tuple[int, int, dict[nn.Module, int]]:
    """(context R in input frames, time stride S, time stride at the input of each SE and the pooling),
    from one dry run: each convolution (or average pool) with a kernel wider than 1 in time adds
    dilation * (kernel // 2) frames of its own input, i.e. that times its input's stride."""
    length = 512
    lengths: dict[nn.Module, int] = {}
    hooks = [m.register_forward_pre_hook(lambda m, inp: lengths.__setitem__(m, inp[0].shape[-1]))
             for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.AvgPool2d, SE1d, SE2d))
             or m is model.pool]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, length, feat_dim))
    finally:
        for h in hooks:
            h.remove()
    pool_modules = set(model.pool.modules())
    context = 0
    for m, t in lengths.items():
        if m in pool_modules or isinstance(m, (SE1d, SE2d)):
            continue
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[-1]
        d = 1 if isinstance(m, nn.AvgPool2d) else (m.dilation if isinstance(m.dilation, int) else m.dilation[-1])
        context += d * (k // 2) * round(length / t)
    strides = {m: round(length / t) for m, t in lengths.items() if isinstance(m, (SE1d, SE2d)) or m is model.pool}
    stride = max(strides.values())
    return math.ceil(context / stride) * stride, stride, strides


def _slices(x: torch.Tensor, width: int = 256) -> Iterator[torch.Tensor]:
    """x [..., t] in float64, `width` frames at a time: the float64 temporaries of a whole chunk
    ([1, 1536, ~1100] for ECAPA's pooling, six of them) made the peak memory of a long recording."""
    for a in range(0, x.shape[-1], width):
        yield x[..., a:a + width].double()


class _Stats:
    """Float64 sums over the valid frames of [1, C, (F,) t] maps."""

    def __init__(self) -> None:
        self.n = 0
        self.s1: torch.Tensor | None = None
        self.s2: torch.Tensor | None = None

    def add(self, x: torch.Tensor, squares: bool) -> None:
        x = x.flatten(2)                           # [1, C, F*t]
        self.n += x.shape[-1]
        s1 = s2 = torch.zeros((), dtype=torch.float64, device=x.device)
        for part in _slices(x):
            s1 = s1 + part.sum(-1)
            if squares:
                s2 = s2 + (part * part).sum(-1)
        self.s1 = s1 if self.s1 is None else self.s1 + s1
        if squares:
            self.s2 = s2 if self.s2 is None else self.s2 + s2

    def mean(self) -> torch.Tensor:
        return self.s1 / self.n

    def mean_std(self, conv: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std with the pooling's std convention (a pooling._StdConvention)."""
        mu = self.mean()
        var = self.s2 / self.n - mu * mu
        if conv.unbiased:
            var = var * (self.n / max(self.n - 1, 1))
        return mu, _floor_sqrt(var, conv)


def _floor_sqrt(var: torch.Tensor, conv: nn.Module) -> torch.Tensor:
    return torch.sqrt(var + conv.floor) if conv.add_floor else torch.sqrt(var.clamp(min=conv.floor))


class _SoftmaxStats:
    """Attention-weighted sums of x and x^2 with a softmax over all frames, one chunk at a time:
    the running max keeps exp() finite and earlier sums are rescaled when it grows."""

    def __init__(self) -> None:
        self.m: torch.Tensor | None = None
        self.z = self.s1 = self.s2 = torch.zeros(())

    def add(self, logits: torch.Tensor, x: torch.Tensor) -> None:
        m = logits.amax(-1).double()
        if self.m is not None:
            m = torch.maximum(m, self.m)
            r = torch.exp(self.m - m)
            self.z, self.s1, self.s2 = self.z * r, self.s1 * r, self.s2 * r
        self.m = m
        for lg, part in zip(_slices(logits), _slices(x)):
            e = torch.exp(lg - m.unsqueeze(-1))
            ex = e * part
            self.z = self.z + e.sum(-1)
            self.s1 = self.s1 + ex.sum(-1)
            self.s2 = self.s2 + (ex * part).sum(-1)

    def mean_std(self, conv: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.s1 / self.z
        return mu, _floor_sqrt(self.s2 / self.z - mu * mu, conv)


def return_freed_memory(threshold: int = 1 << 16) -> bool:
    """Have glibc's malloc serve blocks over `threshold` bytes with mmap, so that they go back to the
    system when freed. By default the threshold grows to the largest block freed (up to 32 MB), and
    the chunk-sized tensors of `embed_long` then stay in a heap that fragments: with ECAPA C=512 the
    peak RSS of a 90 s recording was 380 MB with the default and 318 MB with this (import torch and
    the model: 280 MB). Process-wide, so the CLI calls it; False where the C library is not glibc."""
    import ctypes  # noqa: PLC0415  only here
    m_mmap_threshold = -3
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(m_mmap_threshold, threshold))
    except (OSError, AttributeError):
        return False


def embed_long(model: nn.Module, read: Callable[[int, int], torch.Tensor], num_frames: int,
               chunk: int = 3000) -> torch.Tensor:
    """Embedding [1, D] of a `num_frames`-frame input whose frames [a, b) `read(a, b)` returns as
    [b - a, F] (already normalised as the model expects). `model` must pass `supports_long`,
    be in eval mode and on the CPU or GPU where `read`'s tensors go."""
    if not supports_long(model):
        raise ValueError(f"{type(model).__name__} with {type(getattr(model, 'pool', None)).__name__} pooling "
                         "cannot be run chunk by chunk exactly; extract it whole")
    first = read(0, min(num_frames, 8))
    context, stride, strides = _layout(model, first.shape[-1])
    chunk = max(stride, chunk // stride * stride)
    ses = [m for m in model.modules() if isinstance(m, (SE1d, SE2d))]
    scales: dict[nn.Module, torch.Tensor] = {}
    window: list[int] = [0, 0, 0]                  # chunk start a, valid [s, e) in input frames

    def valid(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        r = strides[m]
        a, s, e = window
        return x[..., (s - a) // r: -(-e // r) - a // r]

    def run(probe: nn.Module, on_probe: Callable[[torch.Tensor], None]) -> None:
        def pre(m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
            on_probe(valid(m, inp[0]))
            raise _Stop

        hooks = [probe.register_forward_pre_hook(pre)]
        hooks += [m.register_forward_hook(lambda m, inp, out: inp[0] * _bcast(scales[m], inp[0]))
                  for m in scales]
        try:
            for s in range(0, num_frames, chunk):
                e = min(s + chunk, num_frames)
                a, b = max(0, s - context), min(num_frames, e + context)
                window[:] = [a, s, e]
                try:
                    model(read(a, b)[None])
                except _Stop:
                    pass
        finally:
            for h in hooks:
                h.remove()

    with torch.inference_mode():
        for se in ses:
            acc = _Stats()
            run(se, lambda x, acc=acc: acc.add(x, squares=False))
            scales[se] = se.scale(acc.mean().to(first.dtype))
        pooled = _pool(model.pool, run)
        hooks = [model.pool.register_forward_hook(lambda m, inp, out: pooled)]
        hooks += [m.register_forward_hook(lambda m, inp, out: inp[0] * _bcast(scales[m], inp[0])) for m in scales]
        try:
            return model(first[None])
        finally:
            for h in hooks:
                h.remove()


def _bcast(scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return scale.view(*scale.shape, *([1] * (x.dim() - 2)))


def _pool(pool: nn.Module, run: Callable) -> torch.Tensor:
    """The pooled vector [1, out_dim] of the pooling's input over all chunks."""
    dtype = next(pool.parameters(), torch.zeros(())).dtype
    if isinstance(pool, TAP):
        acc = _Stats()
        run(pool, lambda x: acc.add(x, squares=False))
        return acc.mean().to(dtype)
    if isinstance(pool, TSP):
        acc = _Stats()
        run(pool, lambda x: acc.add(x, squares=True))
        return torch.cat(acc.mean_std(pool.stats), dim=1).to(dtype)
    ctx = None
    if pool.global_context:
        acc = _Stats()
        run(pool, lambda x: acc.add(x, squares=True))
        ctx = tuple(v.to(dtype) for v in acc.mean_std(pool.context_stats))
    att = _SoftmaxStats()

    def weighted(x: torch.Tensor) -> None:
        att.add(pool.logits(x, ctx), x)
    run(pool, weighted)
    return torch.cat(att.mean_std(pool.stats), dim=1).to(dtype)
