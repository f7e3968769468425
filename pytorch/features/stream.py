"""Features of a long recording in bounded memory: `compute_in_chunks` yields blocks of frames whose
concatenation equals `module(whole_signal, generator)`, while holding only about `chunk_frames` frames
(and their samples) at a time, so peak memory no longer grows with the recording (issue 14).

Why it is exact. Every frame depends only on its own window of samples (DC removal, pre-emphasis with
Kaldi's first-sample rule, window, FFT, mel, log, energy are all per frame). A block of frames [f0, f1)
is therefore computed from exactly the samples its frames cover, cut as the whole-signal framing would
cut them: with snip_edges=false the positions outside the recording are reflected the same way, so the
block is framed by a copy of the module with snip_edges=true on those (already padded) samples. Dither
is the one non-local step: the whole-signal module adds one randn draw over the signal, so here the
samples are read and dithered strictly in order, each exactly once, in draws whose lengths are
multiples of 16 except the last (torch's CPU randn fills in groups of 16, so such split draws give the
same numbers as one draw; tests/unit/pytorch/features/test_stream.py checks it).
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator

import torch

from pytorch.features.base import KaldiFeature
from pytorch.features.window import FrameProcessor, _reflect, num_frames

CHUNK_FRAMES = 2000  # 20 s at a 10 ms shift: ~50 MB of intermediates (6000 frames: 60 MB more, no faster)
_DRAW = 16           # dither draws are multiples of this (see the module docstring)


def _framing_copy(module: KaldiFeature) -> KaldiFeature:
    """The same feature without dither and with snip_edges=true: it frames already padded samples."""
    plain = copy.copy(module)
    plain.opts = dataclasses.replace(module.opts, dither=0.0, snip_edges=True)
    plain.frames = FrameProcessor(plain.opts)
    return plain


def compute_in_chunks(module: KaldiFeature, read: Callable[[int, int], torch.Tensor], num_samples: int,
                      generator: torch.Generator | None = None,
                      chunk_frames: int = CHUNK_FRAMES) -> Iterator[torch.Tensor]:
    """Yield [t, F] blocks of the features of a [num_samples] signal, `read(start, stop)` -> its samples
    [stop - start] (in order, each range once; int16 scale as for `module`). A signal of at most
    `chunk_frames` frames is one block, computed by `module` itself."""
    o = module.opts
    total = num_frames(num_samples, o)
    if total <= chunk_frames:
        yield module(read(0, num_samples), generator=generator)
        return
    size, shift = o.window_size, o.window_shift
    first = 0 if o.snip_edges else shift // 2 - size // 2  # padded position of frame 0's first sample
    plain = _framing_copy(module)
    buf, buf_start, done = None, 0, 0  # dithered samples [buf_start, done) held in buf
    for f0 in range(0, total, chunk_frames):
        f1 = min(f0 + chunk_frames, total)
        pos = _reflect(torch.arange(f0 * shift + first, (f1 - 1) * shift + first + size), num_samples)
        lo, hi = int(pos.min()), int(pos.max()) + 1
        if hi > done:  # read up to a multiple of 16, or to the end when less than 16 would be left over
            stop = min(num_samples, -(-hi // _DRAW) * _DRAW)
            if num_samples - stop < _DRAW:
                stop = num_samples
            new = read(done, stop)
            if o.dither != 0.0:
                new = new + o.dither * torch.randn(new.shape, generator=generator, device=new.device,
                                                   dtype=new.dtype)
            buf = new if buf is None else torch.cat([buf[lo - buf_start:], new])
            buf_start, done = (done if buf is new else lo), stop
        yield plain(buf[pos - buf_start], generator=None)
