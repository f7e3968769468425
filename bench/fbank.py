"""x-real-time of pytorch.features.Fbank vs kaldi-native-fbank on the same 600 s of audio, one thread.

Compute only (audio already in memory), dither 0, 80 mel bins, 16 kHz, 25/10 ms, povey window.
Ours runs as a batch of 60 x 10 s utterances and as one 600 s signal; kaldi-native-fbank runs
utterance by utterance (its API is one stream at a time). Usage: python bench/fbank.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

SR = 16000


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def knf_run(utts: np.ndarray, num_bins: int) -> None:
    import kaldi_native_fbank as knf
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = num_bins
    for u in utts:
        f = knf.OnlineFbank(opts)
        f.accept_waveform(SR, u)
        f.input_finished()
        np.stack([f.get_frame(i) for i in range(f.num_frames_ready)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--utt-seconds", type=float, default=10.0)
    ap.add_argument("--num-mel-bins", type=int, default=80)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from pytorch.features import Fbank

    rng = np.random.default_rng(0)
    n_utt = int(args.seconds / args.utt_seconds)
    n = int(args.utt_seconds * SR)
    # Speech-like: harmonic series with a wandering F0 plus noise, in int16 scale.
    t = np.arange(n_utt * n) / SR
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 20)) * 4000 + rng.standard_normal(t.size) * 300
    wave = wave.astype(np.float32)
    batch = torch.from_numpy(wave.reshape(n_utt, n))
    long = torch.from_numpy(wave)
    fbank = Fbank(num_mel_bins=args.num_mel_bins, dither=0.0)
    with torch.inference_mode():
        fbank(batch[:2])  # warm-up: caches, FFT plans
        t_batch = best_of(lambda: fbank(batch), args.repeats)
        t_long = best_of(lambda: fbank(long), args.repeats)
    utts = [u for u in wave.reshape(n_utt, n)]
    knf_run(utts[:1], args.num_mel_bins)
    t_knf = best_of(lambda: knf_run(utts, args.num_mel_bins), args.repeats)
    total = n_utt * args.utt_seconds
    x_batch, x_long, x_knf = total / t_batch, total / t_long, total / t_knf
    print(f"audio: {total:.0f} s at {SR} Hz, {args.num_mel_bins} mel bins, 1 thread, "
          f"torch {torch.__version__}")
    print(f"ours  batch {n_utt} x {args.utt_seconds:g} s : {x_batch:8.0f} x real time ({t_batch:.3f} s)")
    print(f"ours  one {total:.0f} s signal     : {x_long:8.0f} x real time ({t_long:.3f} s)")
    print(f"kaldi-native-fbank          : {x_knf:8.0f} x real time ({t_knf:.3f} s)")
    print(f"ratio ours/knf: batch {x_batch / x_knf:.2f}, long {x_long / x_knf:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
