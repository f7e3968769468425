"""Extraction mode: `prepare_for_inference(model)` returns a faster model with the same embeddings.

Steps (each exact up to float rounding):
1. a deep copy in eval mode (the training model is left untouched);
2. BatchNorm folded into the conv/linear right before it (conv -> BN pairs in nn.Sequential),
   and into the linear right after it (ECAPA's pooled BN -> FC);
3. 2-D convolution weights in channels-last (NHWC) layout, which oneDNN runs without reorders
   (SE-ResNet-34, 10 s: ~1.2x faster on 2 CPU threads);
4. on CPU, 1-D convolutions as plain GEMMs, with ReLU -> BN fused into a clamp (pytorch.gemm_conv),
   and TorchScript with freezing: weights become constants that oneDNN prepacks once;
5. on CPU with n > 1 torch threads, a batch's rows as n parts side by side, one thread each
   (ParallelRows), in sub-batches of at most the model's EXTRACT_MAX_FRAMES frames (FrameCapped).
Opt-in and NOT exact: `dtype=torch.bfloat16` (or float16) runs the eager model of steps 1-3 (and the
GEMMs of step 4 on CPU) under autocast (Autocast; `pytorch.bin.extract --dtype bfloat16`).
On GPU steps 1-3 are applied. torch.compile was measured too (a little faster than 3-5: ResNet-34,
and with freezing ECAPA C=1024 1.07x) but compiles for 10-90 s per new input length, so it is not used.
"""
from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

from pytorch.gemm_conv import GemmConv1d, bn_scale_shift, gemm_conv1d

log = logging.getLogger(__name__)

_CONV_BN = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Linear, nn.BatchNorm1d))


@torch.no_grad()
def fold_bn_after(layer: nn.Conv1d | nn.Conv2d | nn.Linear, bn: nn.Module) -> None:
    """Fold `bn` (applied to `layer`'s output) into `layer`'s weight and bias, in place."""
    scale, shift = bn_scale_shift(bn)
    w = layer.weight
    layer.weight.copy_(w * scale.view(-1, *([1] * (w.dim() - 1))))
    bias = layer.bias if layer.bias is not None else torch.zeros_like(scale)
    new_bias = bias * scale + shift
    if layer.bias is None:
        layer.bias = nn.Parameter(new_bias)
    else:
        layer.bias.copy_(new_bias)


@torch.no_grad()
def fold_bn_before(bn: nn.BatchNorm1d, linear: nn.Linear) -> None:
    """Fold `bn` applied to `linear`'s input into `linear`, in place: W(s*x + b) = (W s) x + W b."""
    scale, shift = bn_scale_shift(bn)
    linear.bias.copy_(linear.bias + linear.weight @ shift)
    linear.weight.mul_(scale.view(1, -1))


def _tracks_stats(bn: nn.Module) -> bool:
    return isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)) and bn.running_mean is not None


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every conv/linear -> BN pair of an nn.Sequential, and each BN -> linear pair a model
    declares in its class attribute BN_BEFORE_LINEAR,
    replacing the BN by Identity. Returns the number of BNs folded. The model must be in eval mode."""
    n = 0
    for mod in list(model.modules()):
        if isinstance(mod, nn.Sequential):
            for i in range(len(mod) - 1):
                a, b = mod[i], mod[i + 1]
                if any(isinstance(a, la) and type(b) is lb for la, lb in _CONV_BN) and _tracks_stats(b):
                    fold_bn_after(a, b)
                    mod[i + 1] = nn.Identity()
                    n += 1
        # Models declare (bn, linear) attribute pairs where the BN output feeds only that linear
        # (ECAPA: pool -> pool_bn -> fc); a BN after a ReLU cannot fold into the layer before it.
        for bn_name, fc_name in getattr(mod, "BN_BEFORE_LINEAR", ()):
            bn, fc = getattr(mod, bn_name), getattr(mod, fc_name)
            if _tracks_stats(bn) and isinstance(fc, nn.Linear) and fc.bias is not None:
                fold_bn_before(bn, fc)
                setattr(mod, bn_name, nn.Identity())
                n += 1
    return n


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


class FrameCapped(nn.Module):
    """Runs `model` on sub-batches of at most `max_frames` frames (rows x padded length; at least
    one row), so that a batch's activations stay nearer the cache and its peak memory is bounded:
    ECAPA C=512 through `pytorch.bin.extract` with padded batches of 1-20 s utterances peaked at
    437 MB instead of 742 MB (bench/extract_cli.py). With `lengths`, each sub-batch is trimmed to
    its own longest row, which the length mask makes exact."""

    def __init__(self, model: nn.Module, max_frames: int) -> None:
        super().__init__()
        self.model, self.max_frames = model, max_frames

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        rows = max(1, self.max_frames // max(1, feats.shape[1]))
        if rows >= feats.shape[0]:
            return self.model(feats) if lengths is None else self.model(feats, lengths)
        outs = []
        for a in range(0, feats.shape[0], rows):
            if lengths is None:
                outs.append(self.model(feats[a:a + rows]))
            else:
                part = lengths[a:a + rows]
                outs.append(self.model(feats[a:a + rows, :int(part.max())], part))
        return torch.cat(outs)


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    # Keyed by pid too: a forked child inherits the parent's pool objects but not their threads,
    # and work submitted to them would wait forever.
    key = (os.getpid(), workers)
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="asvlab-rows")
        return _POOLS[key]


class ParallelRows(nn.Module):
    """Runs the rows of a batch as n parts side by side (n = torch.get_num_threads() at call time,
    at most one part per row), each on its own worker thread with one intra-op thread, and
    concatenates the embeddings: each row's embedding is computed from that row alone, as before.
    Why: on 2 cores, two 1-thread GEMM streams on independent rows beat 2-thread GEMMs that meet
    at a barrier after every op (ResNet34, ECAPA C=512 at 16 x 2 s: BENCHMARKS.md, runs G, H). Only
    for modules that release the GIL for the whole forward (TorchScript); 1 row or 1 thread runs
    `model` directly. The caller's grad / inference mode is carried into the workers."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def _run(self, feats: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        return self.model(feats) if lengths is None else self.model(feats, lengths)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        threads = torch.get_num_threads()
        parts = min(threads, feats.shape[0])
        if parts < 2:
            return self._run(feats, lengths)
        grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

        def work(span: tuple[int, int]) -> torch.Tensor:
            a, b = span
            torch.set_num_threads(1)
            with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                if lengths is None:
                    return self._run(feats[a:b], None)
                lens = lengths[a:b]
                return self._run(feats[a:b, :int(lens.max())], lens)

        rows = feats.shape[0]
        spans = [(rows * i // parts, rows * (i + 1) // parts) for i in range(parts)]
        try:
            outs = list(_pool(parts).map(work, spans))
        finally:
            torch.set_num_threads(threads)   # MKL's thread count is process-wide: give it back
        return torch.cat(outs)


class Autocast(nn.Module):
    """Runs `model` under torch.autocast in `dtype` (bfloat16 or float16) and returns float32
    embeddings. Not exact: the matrix products round their inputs to `dtype` (accumulating in
    float32). On CPUs with AMX or AVX512-BF16 bfloat16 is faster; elsewhere it can be slower."""

    def __init__(self, model: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model, self.dtype = model, dtype

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(feats.device.type, dtype=self.dtype):
            out = self.model(feats) if lengths is None else self.model(feats, lengths)
        return out.float()


def prepare_for_inference(model: nn.Module, script: bool = True, dtype: torch.dtype = torch.float32
                          ) -> nn.Module:
    """A copy of `model` for embedding extraction: eval mode, BN folded, and on CPU a frozen
    TorchScript module whose 1-D convolutions run as GEMMs (pytorch.gemm_conv), in sub-batches of
    the model's EXTRACT_MAX_FRAMES when it declares one (FrameCapped), each with its rows split over
    the torch threads (ParallelRows). Move the model to its
    device *before* calling this (frozen TorchScript weights are constants and do not follow a
    later `.to(device)`). `script=False` gives the eager BN-folded copy, with its layers unchanged
    (pytorch.chunked hooks them). `dtype` bfloat16 or float16: the eager model (with the GEMMs on
    CPU) under autocast (Autocast), which is not exact."""
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"prepare_for_inference: dtype must be float32, bfloat16 or float16, not {dtype}")
    model = copy.deepcopy(model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    n = fold_batchnorm(model)
    log.debug("folded %d BatchNorm layers", n)
    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)
    cap = getattr(type(model), "EXTRACT_MAX_FRAMES", None)
    cpu = _device_of(model).type == "cpu"
    if dtype != torch.float32:
        if cpu:
            gemm_conv1d(model)
            # Cast once: autocast would cast every weight again on every call (its cache lives
            # only as long as one autocast region), which costs as much as ECAPA's GEMMs on 1 x 10 s.
            for m in model.modules():
                if isinstance(m, GemmConv1d):
                    m.w2d = m.w2d.to(dtype)
        fast = Autocast(model, dtype)
        return FrameCapped(fast, cap) if cap and cpu else fast
    if not script or not cpu:
        return model
    eager = model
    model = copy.deepcopy(model)
    log.debug("%d 1-D convolutions as GEMMs", gemm_conv1d(model))
    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated in favour of torch.compile, which recompiles per input length.
            warnings.simplefilter("ignore", DeprecationWarning)
            frozen = torch.jit.freeze(torch.jit.script(model))
    except Exception as e:  # noqa: BLE001  TorchScript cannot compile some user models; eager still works
        log.warning("TorchScript failed (%s); using the eager model with BN folded", e)
        return eager
    # Inside FrameCapped, so that no more than its frames are in flight across the threads together.
    return FrameCapped(ParallelRows(frozen), cap) if cap else ParallelRows(frozen)
