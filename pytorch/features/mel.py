"""Kaldi's triangular mel filterbank (mel-computations.cc) as one [F, M] matrix for a matmul."""
from __future__ import annotations

import math

import torch

from common.errors import ConfigError
from pytorch.features.options import MelOptions


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(freq / 700.0)


def mel_matrix(opts: MelOptions) -> torch.Tensor:
    """[padded/2 + 1, num_mel_bins] float64; the Nyquist row is zero, as in Kaldi (it uses padded/2 bins)."""
    padded = opts.padded_window_size
    num_fft_bins = padded // 2
    low, high = opts.mel_range()
    mel_low, mel_high = mel_scale(torch.tensor(low, dtype=torch.float64)), mel_scale(
        torch.tensor(high, dtype=torch.float64))
    delta = (mel_high - mel_low) / (opts.num_mel_bins + 1)
    b = torch.arange(opts.num_mel_bins, dtype=torch.float64)
    left = (mel_low + b * delta)[None, :]
    center = (mel_low + (b + 1) * delta)[None, :]
    right = (mel_low + (b + 2) * delta)[None, :]
    freqs = torch.arange(num_fft_bins, dtype=torch.float64) * (opts.sample_frequency / padded)
    mel = mel_scale(freqs)[:, None]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    w = torch.where(mel <= center, up, down)
    w = torch.where((mel > left) & (mel < right), w, torch.zeros_like(w))
    empty = (w.sum(0) == 0).nonzero().flatten().tolist()
    if empty:  # Kaldi refuses this too
        raise ConfigError(f"num_mel_bins={opts.num_mel_bins} is too large for {padded}-point FFT bins "
                          f"between {low} and {high} Hz (mel bin {empty[0]} is empty); "
                          "use fewer bins or longer frames")
    return torch.cat([w, w.new_zeros(padded // 2 + 1 - num_fft_bins, opts.num_mel_bins)], dim=0)


def dct_matrix(num_bins: int, num_ceps: int) -> torch.Tensor:
    """Kaldi's ComputeDctMatrix (orthonormal DCT-II) rows 0..num_ceps-1, transposed: [num_bins, num_ceps]."""
    n = torch.arange(num_bins, dtype=torch.float64)
    k = torch.arange(num_ceps, dtype=torch.float64)[:, None]
    m = torch.cos(math.pi / num_bins * (n + 0.5) * k) * math.sqrt(2.0 / num_bins)
    m[0] = math.sqrt(1.0 / num_bins)
    return m.T.contiguous()


def lifter_coeffs(num_ceps: int, lifter: float) -> torch.Tensor:
    i = torch.arange(num_ceps, dtype=torch.float64)
    return 1.0 + 0.5 * lifter * torch.sin(math.pi * i / lifter)
