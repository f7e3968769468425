"""Extraction rate on a data dir of mixed durations (1-20 s), and what it means for VoxCeleb1.

  . ./path.sh && python bench/extract_mixed.py [--models ecapa512,resnet34] [--utts 64] [--threads 2] [--rounds 2]

Runs `pytorch.data.extraction.extract_embeddings` (the loop of `pytorch.bin.extract`, sorted by
length) over an in-memory source of `--utts` utterances with durations drawn uniformly from 1-20 s
(80-dim random features; feature computation excluded), with the torch extraction mode and with
ONNX Runtime (`--engine onnx`), three ways: padded batches of 16 (`--padded-batches true`, the
default: different lengths in one zero-padded batch, masked by the model), equal-length buckets of
16 (`--padded-batches false`: with mixed lengths almost every batch holds one utterance) and one by
one (batch 1). The reference is the batched rate of the same model on 16 x 2 s. Every run is timed
in each of `--rounds` rounds, in turn (the median is printed), so load from other processes hits all
alike. `max diff` is the largest |embedding - one-by-one torch|. The VoxCeleb1 column converts each
x-RT into the time to embed its 352 h (153,516 utterances) on this CPU, features excluded.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import MODELS, our_model  # noqa: E402  bench/extract.py, a sibling script

from pytorch.data.extraction import InputSource, extract_embeddings  # noqa: E402
from pytorch.export import OnnxRuntimeModel  # noqa: E402
from pytorch.inference import prepare_for_inference  # noqa: E402

VOX1_HOURS, VOX1_UTTS = 352.0, 153_516
MODES = {"padded batches of 16": (16, True), "equal-length buckets of 16": (16, False), "one by one": (1, False)}


def mixed_source(n: int, seed: int = 0) -> InputSource:
    rng = np.random.default_rng(seed)
    lengths = {f"u{i:04d}": int(rng.integers(100, 2001)) for i in range(n)}
    mats = {u: rng.standard_normal((t, 80)).astype(np.float32) for u, t in lengths.items()}
    return InputSource(sorted(lengths), lengths, mats.__getitem__)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="ecapa512,resnet34")
    ap.add_argument("--utts", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    src = mixed_source(args.utts)
    audio_s = sum(src.lengths.values()) / 100.0
    print(f"{args.utts} utterances, {audio_s:.0f} s of audio (1-20 s each), {args.threads} threads, "
          f"{args.rounds} rounds, load average {os.getloadavg()[0]:.2f} at "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| model | engine | run | utterances/s | x-RT | of the 16 x 2 s rate | max diff | VoxCeleb1 (352 h) "
          "on this CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for key in args.models.split(","):
        label = MODELS[key][0]
        eager = our_model(key)
        engines = {"torch": prepare_for_inference(eager), "ONNX Runtime": OnnxRuntimeModel(eager, args.threads,
                                                                                          lengths=True)}
        x = torch.randn(16, 200, 80)
        runs: dict[tuple[str, str], Callable[[], object]] = {}
        for eng, model in engines.items():
            with torch.inference_mode():
                model(x)                                     # warm-up
            runs[eng, "batch 16 x 2 s (reference)"] = lambda m=model, x=x: m(x)
            for mode, (batch, padded) in MODES.items():
                runs[eng, mode] = lambda m=model, b=batch, p=padded: extract_embeddings(m, src, 0, b, padded=p)[0]
        times: dict[tuple[str, str], list[float]] = {k: [] for k in runs}
        outs = {}
        with torch.inference_mode():
            for _ in range(args.rounds):
                for k, fn in runs.items():
                    t, outs[k] = timed(fn)
                    times[k].append(t)
        ref = outs["torch", "one by one"]
        for (eng, mode), ts in times.items():
            t = sorted(ts)[len(ts) // 2]
            n, secs = (16, 32.0) if "reference" in mode else (args.utts, audio_s)
            xrt = secs / t
            ref_xrt = 32.0 / sorted(times[eng, "batch 16 x 2 s (reference)"])[args.rounds // 2]
            diff = "-" if "reference" in mode else f"{np.abs(outs[eng, mode] - ref).max():.1e}"
            print(f"| {label} | {eng} | {mode} | {n / t:.3g} | {xrt:.3g} | {xrt / ref_xrt:.0%} | {diff} "
                  f"| {VOX1_HOURS / xrt:.1f} h ({VOX1_UTTS / (n / t) / 3600:.1f} h at this utterance rate) |",
                  flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
