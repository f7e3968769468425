"""AASIST and AASIST-L spoofing countermeasures (Jung et al., ICASSP 2022), on raw 16 kHz waveforms.

A countermeasure (CM), not a speaker model: `forward(wave[B, S]) -> logits[B, 2]` (index 1 is bona fide,
index 0 spoof, as in the official training labels), `embed(wave) -> (emb[B, 160], logits)` where the
embedding is the readout vector that feeds the output layer. So it is not in the speaker MODELS registry
(whose contract is `forward(feats[B, T, F]) -> emb`); `build_aasist(conf)` builds it from the official
`.conf` JSON or a YAML/dict model section.

Pipeline: fixed mel-spaced sinc band-pass filters -> |.| and 3x3 max-pool -> six residual 2-D conv blocks
-> spectral and temporal graphs (max over the other axis) with graph attention and graph pooling -> two
parallel heterogeneous stacking graph-attention branches with a master node -> element-wise max of the two
branches (max graph operation) -> readout [max|mean of temporal, max|mean of spectral, master] -> 2 classes.
The graph layers are in pytorch/models/graph_attention.py; the front end, the residual blocks and the
assembled model here.

Parameter names follow the official clovaai/aasist state dict, so its AASIST.pth and AASIST-L.pth load
with `load_state_dict(strict=True)` and no key map. Two details of that checkpoint are kept on purpose:
  - Residual blocks after the first hold a `bn1` whose output the official forward discards (conv1 reads
    the block input); the pretrained weights were trained that way, so `bn1` is kept (for strict loading)
    and skipped in the forward.
  - The sinc filters are fixed (not trained) and absent from the checkpoint: a non-persistent buffer.

Inference (eval mode, autograd off) runs the front end and the residual blocks in time chunks, with the
chunks spread over torch's threads (_run_chunks), bn2 folded into conv1 and the max-pools as maxima of
strided slices: 2.6x the official code's speed at a quarter of its peak memory for a batch of 16, equal
to it within 3e-6 (bench/aasist.py, BENCHMARKS.md). Training, or any call with autograd on, runs the plain
formula.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.errors import ConfigError, FormatError
from common.registry import build_options
from pytorch.config import load_yaml
from pytorch.models.graph_attention import GraphAttention, GraphPool, HeteroGraphAttention

NB_SAMP = 64600  # ~4.04 s at 16 kHz: the fixed input length of the official model
SAMPLE_RATE = 16000
BONAFIDE = 1  # the output index of the bona fide class (official labels: 1 bonafide, 0 spoof)
# Eval-mode chunk size (elements of one intermediate of one batch entry): ~8 MB, about a core's L2 cache.
# On this project's 2-core Xeon, chunks of 1-5M elements ran alike and ~19M ones slower.
_CHUNK_ELEMENTS = 2_000_000
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _max3(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Element-wise max of three: the chunked max-pools, ~1.5-3x faster than amax over a size-3 axis."""
    return torch.maximum(torch.maximum(a, b), c)


def _run_chunks(fn: Callable[[int, int, int], None], batch: int, n: int, step: int) -> None:
    """fn(i, p0, p1) for each batch entry i over [0, n) in steps. With torch's N > 1 threads, N worker
    threads run whole chunks at one intra-op thread each: a chunk's ops are small, and an OpenMP barrier
    per op cost more than the ops on a loaded machine (2 cores, load ~20, batch 4: block 1 took 17 s with
    2-thread ops; its convolutions took 2.3 s with chunks in parallel). Torch's thread count is
    process-wide, so it is 1 while the workers run (their OpenMP state is set from it on their first op)
    and restored after."""
    ranges = [(i, p0, min(n, p0 + step)) for i in range(batch) for p0 in range(0, n, step)]
    threads = torch.get_num_threads()
    if threads == 1 or len(ranges) == 1:
        for r in ranges:
            fn(*r)
        return
    key = (os.getpid(), threads)  # a forked child has none of its parent's worker threads
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="aasist-chunks")
    inference = torch.is_inference_mode_enabled()

    def run(r: tuple[int, int, int]) -> None:
        with torch.inference_mode(inference), torch.no_grad():  # grad modes are per thread
            fn(*r)

    torch.set_num_threads(1)
    try:
        for _ in _POOLS[key].map(run, ranges):
            pass
    finally:
        torch.set_num_threads(threads)


def fix_length(wave: np.ndarray | torch.Tensor, length: int = NB_SAMP) -> np.ndarray | torch.Tensor:
    """Cut to the first `length` samples, or repeat the whole signal until it is `length` long (the official
    evaluation's padding; training crops at a random offset instead). Works on the last axis."""
    n = wave.shape[-1]
    if n == 0:
        raise ValueError("fix_length: empty waveform")
    if n >= length:
        return wave[..., :length]
    reps = math.ceil(length / n)
    if isinstance(wave, torch.Tensor):
        return wave.repeat(*([1] * (wave.dim() - 1)), reps)[..., :length]
    return np.tile(wave, [1] * (wave.ndim - 1) + [reps])[..., :length]


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def sinc_filters(n_filters: int, kernel_size: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Hamming-windowed ideal band-pass filters [n_filters, kernel_size] whose edges split 0..Nyquist evenly on
    the mel scale (edges taken over a 512-point FFT grid, as the official front end does)."""
    grid = (sample_rate // 2) * np.linspace(0.0, 1.0, 257)
    edges = _hz(np.linspace(_mel(grid).min(), _mel(grid).max(), n_filters + 1))
    t = np.arange(kernel_size, dtype=np.float64) - (kernel_size - 1) / 2
    lo, hi = edges[:-1, None], edges[1:, None]

    def lowpass(fc: np.ndarray) -> np.ndarray:
        return (2 * fc / sample_rate) * np.sinc(2 * fc * t / sample_rate)

    return torch.from_numpy((np.hamming(kernel_size) * (lowpass(hi) - lowpass(lo))).astype(np.float32))


class SincFrontEnd(nn.Module):
    """Fixed sinc filter bank as a 1-D conv; `freq_mask` zeroes a random band of up to 19 filters
    (the official frequency augmentation, training only)."""

    def __init__(self, n_filters: int, kernel_size: int, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        kernel_size += 1 - kernel_size % 2  # odd, so the filters are symmetric
        self.register_buffer("band_pass", sinc_filters(n_filters, kernel_size, sample_rate).unsqueeze(1),
                             persistent=False)

    def forward(self, x: torch.Tensor, freq_mask: bool = False) -> torch.Tensor:
        w = self.band_pass
        if freq_mask:
            width = int(torch.randint(0, 20, ()).item())
            start = int(torch.randint(0, w.shape[0] - width + 1, ()).item())
            w = w.clone()
            w[start:start + width] = 0
        return F.conv1d(x, w)


class ResidualBlock(nn.Module):
    """conv(2x3) -> BN -> SELU -> conv(2x3), plus a (1x3) conv shortcut when the width changes, then a
    (1, 3) max-pool along time. The frequency size is kept (the two (2, .) kernels undo each other's padding)."""

    def __init__(self, in_ch: int, out_ch: int, first: bool = False) -> None:
        super().__init__()
        if not first:
            self.bn1 = nn.BatchNorm2d(in_ch)  # unused in forward: see the module docstring
        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, kernel_size=(2, 3), padding=(0, 1))
        if in_ch != out_ch:
            self.conv_downsample = nn.Conv2d(in_ch, out_ch, kernel_size=(1, 3), padding=(0, 1))
        self.mp = nn.MaxPool2d((1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training or torch.is_grad_enabled()):
            return self._forward_chunked(x)
        out = self.conv2(F.selu(self.bn2(self.conv1(x))))
        shortcut = self.conv_downsample(x) if hasattr(self, "conv_downsample") else x
        return self.mp(out + shortcut)

    def _forward_chunked(self, x: torch.Tensor) -> torch.Tensor:
        """forward's formula in eval mode without autograd, equal up to float rounding, in time chunks
        (_run_chunks): every intermediate of a chunk stays in cache and the full-size ones are never built
        (the first block's are [B, 32, 24, 21,490], 66 MB per utterance each); bn2 is folded into conv1."""
        b, _, h, w = x.shape
        n_out = w // 3  # the (1, 3) max-pool drops the last w % 3 steps
        scale = self.bn2.weight / torch.sqrt(self.bn2.running_var + self.bn2.eps)
        w1 = self.conv1.weight * scale[:, None, None, None]
        b1 = (self.conv1.bias - self.bn2.running_mean) * scale + self.bn2.bias
        ds = getattr(self, "conv_downsample", None)
        out = x.new_empty(b, self.conv2.out_channels, h, n_out)
        step = max(1, _CHUNK_ELEMENTS // (self.conv2.out_channels * (h + 1) * 3))

        def chunk(i: int, p0: int, p1: int) -> None:
            lo, hi = 3 * p0, 3 * p1
            # input steps [lo - 2, hi + 2): conv1's and conv2's 3-wide kernels each need one more per side;
            # outside [0, w) the input is zero (conv1's padding)
            xs = F.pad(x[i:i + 1, ..., max(lo - 2, 0):min(hi + 2, w)], (max(2 - lo, 0), max(hi + 2 - w, 0)))
            y = F.selu(F.conv2d(xs, w1, b1, padding=(1, 0)))  # steps [lo - 1, hi + 1)
            # conv2 pads its input with zeros: conv1 outputs at steps -1 and >= w do not exist
            if lo == 0:
                y[..., 0] = 0
            if hi + 1 > w:
                y[..., w - lo + 1:] = 0
            y = F.conv2d(y, self.conv2.weight, self.conv2.bias)  # steps [lo, hi)
            y += F.conv2d(xs[..., 1:-1], ds.weight, ds.bias) if ds is not None else xs[..., 2:-2]
            out[i:i + 1, ..., p0:p1] = _max3(y[..., 0::3], y[..., 1::3], y[..., 2::3])

        _run_chunks(chunk, b, n_out, step)
        return out


def _pair(x: Any, where: str) -> tuple[int, int]:
    if not (isinstance(x, Sequence) and len(x) == 2):
        raise ConfigError(f"{where}: expected [in_channels, out_channels], got {x!r}")
    return int(x[0]), int(x[1])


class AASIST(nn.Module):
    """AASIST (and, with smaller `filts`/`gat_dims`, AASIST-L). Keys are the official `model_config` ones:
    `filts = [n_sinc_filters, [in, out] x 4]` (blocks 5 and 6 repeat the last), `gat_dims = [graph, hs-gal]`,
    `pool_ratios = [spectral, temporal, hs-gal, unused]`, `temperatures = [spectral, temporal, hs-gal, unused]`
    (the last entries are read by no layer, in the official model as here). One key is asvlab's own:
    `dropout`, a scale of the official dropout rates (1, the default, is the official model; 0 is none), and
    `input_norm` (default false, as the official), which scales each input to unit RMS: the level is then
    no cue, and the first batch norm sees a variance near 1/filters instead of ~1e-5."""

    def __init__(self, first_conv: int = 128,
                 filts: Sequence[Any] = (70, (1, 32), (32, 32), (32, 64), (64, 64)),
                 gat_dims: Sequence[int] = (64, 32), pool_ratios: Sequence[float] = (0.5, 0.7, 0.5, 0.5),
                 temperatures: Sequence[float] = (2.0, 2.0, 100.0, 100.0), nb_samp: int = NB_SAMP,
                 sample_rate: int = SAMPLE_RATE, dropout: float = 1.0, input_norm: bool = False) -> None:
        super().__init__()
        if len(filts) != 5 or len(gat_dims) != 2 or len(pool_ratios) < 3 or len(temperatures) < 3:
            raise ConfigError("aasist: expected filts [n, [i, o] x 4], gat_dims [2], pool_ratios and "
                              f"temperatures of 3+ values; got {filts!r}, {gat_dims!r}, {pool_ratios!r}, "
                              f"{temperatures!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ConfigError(f"aasist.dropout: expected a scale in [0, 1] of the official dropout rates, "
                              f"got {dropout!r}")
        blocks = [_pair(f, f"aasist.filts[{i + 1}]") for i, f in enumerate(filts[1:])]
        blocks += [blocks[-1]] * 2
        channels, g0, g1 = blocks[-1][1], int(gat_dims[0]), int(gat_dims[1])
        self.nb_samp, self.sample_rate = int(nb_samp), int(sample_rate)
        self.input_norm = bool(input_norm)
        self.embed_dim = 5 * g1

        self.conv_time = SincFrontEnd(int(filts[0]), int(first_conv), sample_rate)
        self.first_bn = nn.BatchNorm2d(1)
        # nested Sequentials only to keep the official names encoder.<i>.0.*
        self.encoder = nn.Sequential(*[nn.Sequential(ResidualBlock(i, o, first=k == 0))
                                       for k, (i, o) in enumerate(blocks)])
        # one learned position vector per spectral node (3x3 max-pool of the filter axis)
        self.pos_S = nn.Parameter(torch.randn(1, int(filts[0]) // 3, channels))
        self.master1 = nn.Parameter(torch.randn(1, 1, g0))
        self.master2 = nn.Parameter(torch.randn(1, 1, g0))
        # `dropout` scales the official rates (0.2 graph inputs and branches, 0.3 pool scores, 0.5 readout):
        # a model a tenth of the official width fits nothing under them in a few hundred steps
        d = float(dropout)
        self.GAT_layer_S = GraphAttention(channels, g0, temperatures[0], 0.2 * d)
        self.GAT_layer_T = GraphAttention(channels, g0, temperatures[1], 0.2 * d)
        self.HtrgGAT_layer_ST11 = HeteroGraphAttention(g0, g1, temperatures[2], 0.2 * d)
        self.HtrgGAT_layer_ST12 = HeteroGraphAttention(g1, g1, temperatures[2], 0.2 * d)
        self.HtrgGAT_layer_ST21 = HeteroGraphAttention(g0, g1, temperatures[2], 0.2 * d)
        self.HtrgGAT_layer_ST22 = HeteroGraphAttention(g1, g1, temperatures[2], 0.2 * d)
        self.pool_S = GraphPool(pool_ratios[0], g0, 0.3 * d)
        self.pool_T = GraphPool(pool_ratios[1], g0, 0.3 * d)
        self.pool_hS1 = GraphPool(pool_ratios[2], g1, 0.3 * d)
        self.pool_hT1 = GraphPool(pool_ratios[2], g1, 0.3 * d)
        self.pool_hS2 = GraphPool(pool_ratios[2], g1, 0.3 * d)
        self.pool_hT2 = GraphPool(pool_ratios[2], g1, 0.3 * d)
        self.drop_way = nn.Dropout(0.2 * d)
        self.drop = nn.Dropout(0.5 * d)
        self.out_layer = nn.Linear(self.embed_dim, 2)

    def _branch(self, t: torch.Tensor, s: torch.Tensor, master: torch.Tensor, k: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One of the two parallel HS-GAL branches: HS-GAL, pool each type, a second HS-GAL added on top."""
        t, s, master = getattr(self, f"HtrgGAT_layer_ST{k}1")(t, s, master=master)
        s, t = getattr(self, f"pool_hS{k}")(s), getattr(self, f"pool_hT{k}")(t)
        t_aug, s_aug, m_aug = getattr(self, f"HtrgGAT_layer_ST{k}2")(t, s, master=master)
        return self.drop_way(t + t_aug), self.drop_way(s + s_aug), self.drop_way(master + m_aug)

    def _front_chunked(self, wave: torch.Tensor) -> torch.Tensor:
        """max_pool2d(|sinc(wave)|, (3, 3)) [B, 1, n_filters // 3, steps // 3] in time chunks (_run_chunks),
        and without the filters that the pooling drops (the 70th of 70); eval mode without autograd."""
        bank = self.conv_time.band_pass
        rows = bank.shape[0] // 3
        bank = bank[:3 * rows]
        b, k = wave.shape[0], bank.shape[-1]
        n_out = (wave.shape[1] - k + 1) // 3
        out = wave.new_empty(b, 1, rows, n_out)
        step = max(1, _CHUNK_ELEMENTS // (3 * rows * 3))
        x = wave.unsqueeze(1)

        def chunk(i: int, p0: int, p1: int) -> None:
            y = F.conv1d(x[i:i + 1, :, 3 * p0:3 * p1 + k - 1], bank).abs_().view(rows, 3, -1)
            y = _max3(y[:, 0], y[:, 1], y[:, 2])  # [rows, 3 * (p1 - p0)]
            out[i, 0, :, p0:p1] = _max3(y[..., 0::3], y[..., 1::3], y[..., 2::3])

        _run_chunks(chunk, b, n_out, step)
        return out

    def embed(self, wave: torch.Tensor, freq_mask: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """wave [B, S] -> (CM embedding [B, embed_dim], logits [B, 2])."""
        if wave.dim() != 2:
            raise ValueError(f"AASIST expects waveforms [batch, samples], got shape {tuple(wave.shape)}")
        if self.input_norm:
            wave = wave / (wave.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-5)
        if self.training or freq_mask or torch.is_grad_enabled():
            x = self.conv_time(wave.unsqueeze(1), freq_mask=freq_mask).unsqueeze(1)
            x = F.max_pool2d(x.abs(), (3, 3))
        else:
            x = self._front_chunked(wave)
        x = F.selu(self.first_bn(x))
        e = self.encoder(x).abs()  # [B, C, spectral, temporal]
        spec = self.pool_S(self.GAT_layer_S(e.amax(dim=3).transpose(1, 2) + self.pos_S))
        temp = self.pool_T(self.GAT_layer_T(e.amax(dim=2).transpose(1, 2)))
        t1, s1, m1 = self._branch(temp, spec, self.master1, 1)
        t2, s2, m2 = self._branch(temp, spec, self.master2, 2)
        t, s, m = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        emb = torch.cat([t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1),
                         m.squeeze(1)], dim=1)
        return emb, self.out_layer(self.drop(emb))

    def forward(self, wave: torch.Tensor, freq_mask: bool = False) -> torch.Tensor:
        """wave [B, S] -> logits [B, 2]; logits[:, BONAFIDE] is the official CM score."""
        return self.embed(wave, freq_mask=freq_mask)[1]


def model_section(conf: Mapping[str, Any], where: str = "config") -> dict[str, Any]:
    """The model keys of an official `.conf` (its `model_config`), of an asvlab YAML (`model:` with
    `name: aasist`), or of a flat mapping."""
    section = conf.get("model_config", conf.get("model", conf))
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: the model section must be a mapping, got {section!r}")
    section = dict(section)
    name = str(section.pop("architecture", section.pop("name", "aasist")))
    if name.lower() not in ("aasist", "aasist-l", "aasist_l"):
        raise ConfigError(f"{where}: model {name!r} is not AASIST")
    return section


def build_aasist(conf: Mapping[str, Any] | str | os.PathLike, where: str | None = None) -> AASIST:
    """Build AASIST from a config mapping or file (official JSON `.conf`, or YAML); unknown keys raise
    ConfigError."""
    if not isinstance(conf, Mapping):
        path = Path(conf)
        where = where or str(path)
        if path.suffix in (".yaml", ".yml"):
            conf = load_yaml(path)
        else:
            try:
                conf = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}: line {e.lineno}: not valid JSON ({e.msg}); give the official "
                                  ".conf JSON or a .yaml file") from None
    where = where or "aasist"
    return build_options(AASIST, model_section(conf, where), f"{where} (aasist)")


def load_aasist(conf: Mapping[str, Any] | str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                map_location: str | torch.device = "cpu") -> AASIST:
    """Build from `conf` and load a state dict (e.g. the official AASIST.pth) strictly; eval mode."""
    model = build_aasist(conf)
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location=map_location, weights_only=True)
        if isinstance(state, Mapping) and "model" in state and isinstance(state["model"], Mapping):
            state = state["model"]  # an asvlab training checkpoint
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise FormatError(f"{checkpoint}: does not fit the model of {conf}: {e}") from None
    return model.eval()
