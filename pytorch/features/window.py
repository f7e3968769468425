"""Kaldi frame extraction (feature-window.cc), batched: framing, dither, DC removal, raw energy,
pre-emphasis and the window function.

Frames are views made with `unfold` (no copy) and every per-frame step is a tensor op over
[B, T, L], so there is no Python loop over frames.
"""
from __future__ import annotations

import math

import torch

from pytorch.features.options import FrameOptions

FLT_EPSILON = 1.1920928955078125e-07  # std::numeric_limits<float>::epsilon(), Kaldi's log floor
FLT_MIN = 1.1754943508222875e-38


def window_function(opts: FrameOptions) -> torch.Tensor:
    """Kaldi's FeatureWindowFunction, float64, length window_size."""
    n = opts.window_size
    i = torch.arange(n, dtype=torch.float64)
    a = 2 * math.pi / (n - 1)
    kinds = {
        "hanning": lambda: 0.5 - 0.5 * torch.cos(a * i),
        "hann": lambda: 0.5 - 0.5 * torch.cos(a * i),
        "sine": lambda: torch.sin(0.5 * a * i),
        "hamming": lambda: 0.54 - 0.46 * torch.cos(a * i),
        "povey": lambda: (0.5 - 0.5 * torch.cos(a * i)).pow(0.85),
        "rectangular": lambda: torch.ones(n, dtype=torch.float64),
        "blackman": lambda: (opts.blackman_coeff - 0.5 * torch.cos(a * i)
                             + (0.5 - opts.blackman_coeff) * torch.cos(2 * a * i)),
    }
    return kinds[opts.window_type]()


def num_frames(num_samples: int, opts: FrameOptions) -> int:
    """Kaldi's NumFrames(..., flush=true)."""
    size, shift = opts.window_size, opts.window_shift
    if opts.snip_edges:
        return 0 if num_samples < size else 1 + (num_samples - size) // shift
    return (num_samples + shift // 2) // shift


def padded_signal(wave: torch.Tensor, opts: FrameOptions) -> tuple[torch.Tensor, int]:
    """[B, N] -> ([B, M], T): the samples that `unfold(window_size, window_shift)` cuts into T frames.

    With snip_edges=false, frame f is centred on f*shift + shift/2 and samples outside [0, N)
    are reflected as Kaldi does (s < 0 -> -s-1, s >= N -> 2N-1-s: the edge sample repeats).
    """
    size, shift = opts.window_size, opts.window_shift
    n = wave.shape[-1]
    t = num_frames(n, opts)
    if t == 0:
        return wave[..., :0], 0
    if opts.snip_edges:
        return wave[..., :(t - 1) * shift + size], t
    first = shift // 2 - size // 2
    last = (t - 1) * shift + first + size
    pieces = []
    if first < 0:
        pieces.append(wave.index_select(-1, _reflect(torch.arange(first, 0, device=wave.device), n)))
    pieces.append(wave[..., max(first, 0):min(last, n)])
    if last > n:
        right = torch.arange(max(n, first), last, device=wave.device)
        pieces.append(wave.index_select(-1, _reflect(right, n)))
    return (torch.cat(pieces, dim=-1) if len(pieces) > 1 else pieces[0]), t


def _reflect(idx: torch.Tensor, n: int) -> torch.Tensor:
    idx = idx % (2 * n)
    return torch.where(idx >= n, 2 * n - 1 - idx, idx)


class FrameProcessor:
    """Turns raw frames into windowed frames plus the log energy Kaldi would report.

    Window tensors are cached per (device, dtype) so a module built once serves CPU and GPU.
    """

    def __init__(self, opts: FrameOptions) -> None:
        self.opts = opts
        self._window64 = window_function(opts)
        self._cache: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}

    def window(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (device, dtype)
        if key not in self._cache:
            self._cache[key] = self._window64.to(device=device, dtype=dtype)
        return self._cache[key]

    def __call__(self, wave: torch.Tensor, raw_energy: bool | None,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """wave [B, N] -> (windowed frames zero-padded to [B, T, padded_window_size], log energy [B, T]).

        raw_energy: True = energy before pre-emphasis/window, False = after, None = not needed.
        """
        o = self.opts
        size, shift, c = o.window_size, o.window_shift, o.preemphasis_coefficient
        if o.dither != 0.0:
            # Noise is added to the signal once, so overlapping frames share it (Kaldi draws it per
            # frame); each frame still gets i.i.d. N(0, dither^2) noise, at a fraction of the cost.
            noise = torch.randn(wave.shape, generator=generator, device=wave.device, dtype=wave.dtype)
            wave = wave + o.dither * noise
        padded, t = padded_signal(wave, o)
        b = wave.shape[0]
        out = wave.new_empty(b, t, o.padded_window_size)
        out[..., size:] = 0.0
        if t == 0:
            return out, (wave.new_zeros(b, 0) if raw_energy is not None else None)
        frames = padded.unfold(-1, size, shift)
        mean = frames.mean(dim=-1, keepdim=True) if o.remove_dc_offset else None
        energy = None
        if raw_energy:
            centred = frames - mean if mean is not None else frames
            energy = _log_energy(centred, FLT_EPSILON)
        win = self.window(wave.device, wave.dtype)
        if c != 0.0:
            # Pre-emphasis of the DC-removed frame, computed once on the signal rather than per frame:
            # y[i] = (x[i] - m) - c*(x[i-1] - m) = (x[i] - c*x[i-1]) - (1-c)*m for i > 0, and
            # y[0] = (1-c)*(x[0] - m) (Kaldi's first-sample rule).
            emph = (padded[..., 1:] - c * padded[..., :-1]).unfold(-1, size - 1, shift)
            first = frames[..., :1]
            if mean is not None:
                emph = emph - (1.0 - c) * mean
                first = first - mean
            torch.mul(emph, win[1:], out=out[..., 1:size])
            torch.mul(first, (1.0 - c) * win[:1], out=out[..., :1])
        else:
            torch.mul(frames - mean if mean is not None else frames, win, out=out[..., :size])
        if raw_energy is False:
            energy = _log_energy(out, FLT_MIN)
        return out, energy


def _log_energy(frames: torch.Tensor, floor: float) -> torch.Tensor:
    return torch.einsum("btl,btl->bt", frames, frames).clamp_min(floor).log()


def power_spectrum(frames: torch.Tensor) -> torch.Tensor:
    """|rfft|^2 of zero-padded frames: [B, T, P] -> [B, T, P/2 + 1]."""
    ri = torch.view_as_real(torch.fft.rfft(frames))
    re, im = ri[..., 0], ri[..., 1]
    return torch.addcmul(re * re, im, im)


def apply_energy_floor(energy: torch.Tensor, energy_floor: float) -> torch.Tensor:
    if energy_floor > 0.0:
        energy = energy.clamp_min(math.log(energy_floor))
    return energy


def as_batch(wave: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Accept [N] or [B, N]; integer tensors are converted to float32 (int16 scale kept)."""
    if wave.dim() not in (1, 2):
        raise ValueError(f"expected a waveform of shape [N] or [B, N], got {tuple(wave.shape)}")
    if not wave.is_floating_point():
        wave = wave.to(torch.float32)
    return (wave.unsqueeze(0), True) if wave.dim() == 1 else (wave, False)
