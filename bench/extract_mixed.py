"""Extraction rate on a data dir of mixed durations (1-20 s), and what it means for VoxCeleb1.

  . ./path.sh && python bench/extract_mixed.py [--models ecapa512,resnet34] [--utts 64] [--threads 2]

Runs `pytorch.data.extraction.extract_embeddings` (the loop of `pytorch.bin.extract`: sorted by
length, equal-length buckets, no padding) over an in-memory source of `--utts` utterances with
durations drawn uniformly from 1-20 s (80-dim random features; feature computation excluded), for
whole utterances with the torch extraction mode and with `--engine onnx` (ONNX Runtime), and for
2 s chunks (max_chunk_frames 200: every batch full, a different embedding: the mean of the chunks').
The batched reference is 16 x 2 s from the same model. The VoxCeleb1 line converts each measured
x-RT into the time to embed its 352 h (153,516 utterances), features excluded.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import MODELS, our_model  # noqa: E402  bench/extract.py, a sibling script

from pytorch.data.extraction import InputSource, extract_embeddings  # noqa: E402
from pytorch.export import OnnxRuntimeModel  # noqa: E402
from pytorch.inference import prepare_for_inference  # noqa: E402

VOX1_HOURS, VOX1_UTTS = 352.0, 153_516


def mixed_source(n: int, seed: int = 0) -> InputSource:
    rng = np.random.default_rng(seed)
    lengths = {f"u{i:04d}": int(rng.integers(100, 2001)) for i in range(n)}
    mats = {u: rng.standard_normal((t, 80)).astype(np.float32) for u, t in lengths.items()}
    return InputSource(sorted(lengths), lengths, mats.__getitem__)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="ecapa512,resnet34")
    ap.add_argument("--utts", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    src = mixed_source(args.utts)
    audio_s = sum(src.lengths.values()) / 100.0
    print(f"{args.utts} utterances, {audio_s:.0f} s of audio (1-20 s each), {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| model | run | utterances/s | x-RT | VoxCeleb1 (352 h) on this CPU |")
    print("|---|---|---|---|---|")
    for key in args.models.split(","):
        label, _, name, model_args = MODELS[key]
        eager = our_model(name, model_args, None)
        engines = {"torch": prepare_for_inference(eager), "onnx": OnnxRuntimeModel(eager, args.threads)}
        x = torch.randn(16, 200, 80)
        rows = {}
        for eng, model in engines.items():
            with torch.inference_mode():
                model(x)                                     # warm-up
                t = min(timed(lambda m=model, x=x: m(x)) for _ in range(3))
            rows[f"{eng}, batch 16 x 2 s (reference)"] = (16 / t, 32 / t)
            for chunk, what in ((0, "whole utterances"), (200, "2 s chunks")):
                t = timed(lambda m=model, c=chunk: extract_embeddings(m, src, c, batch_size=16))
                rows[f"{eng}, {what}"] = (args.utts / t, audio_s / t)
        for run, (ups, xrt) in rows.items():
            hours = VOX1_HOURS * 3600 / xrt / 3600
            print(f"| {label} | {run} | {ups:.3g} | {xrt:.3g} | {hours:.1f} h ({VOX1_UTTS / ups / 3600:.1f} h "
                  "at this utterance rate) |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
