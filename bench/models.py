"""Embedding-extraction speed on CPU: eager PyTorch vs extraction mode (pytorch.inference).

  . ./path.sh && python bench/models.py [--threads 2] [--rounds 7] [--quick]

Models at full size with 80-dim fbank, as bench/extract.py builds them: SE-ResNet-34 (CNSRC 2022
baseline: 32 base channels, SE, TSP, 256-d), ECAPA-TDNN C=512 and C=1024 (WeSpeaker's config,
192-d); parameters and GMACs per 2 s. Workloads: one 10 s utterance (1 x 1000 x 80) and a batch of
16 x 200 frames (16 x 2 s); features excluded. x-RT = seconds of audio per second of compute.
Eager and extraction mode are timed in alternation (median of `rounds`), so load from other
processes hits both alike. The comparison with WeSpeaker's own code and ONNX Runtime, side by side
in one run, is bench/extract.py.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import MODELS, median_times, our_model  # noqa: E402  bench/extract.py, a sibling script

from pytorch.inference import prepare_for_inference  # noqa: E402
from pytorch.models.macs import count_macs, count_params  # noqa: E402

KEYS = ("resnet34se", "ecapa512", "ecapa1024")   # bench/extract.py's models (random weights and BN stats)
WORKLOADS = {"1 x 10 s": (1, 1000), "16 x 2 s": (16, 200)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="ECAPA C=512 only, 3 rounds")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keys = ("ecapa512",) if args.quick else KEYS
    rounds = 3 if args.quick else args.rounds
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    print("| model | params | GMACs (2 s) | input | eager ms | x-RT eager | extraction ms | x-RT extraction "
          "| speed-up | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in keys:
        label, model = MODELS[key][0], our_model(key)
        fast = prepare_for_inference(model)
        macs = count_macs(model, torch.zeros(1, 200, 80)) / 1e9
        for wl, (b, t) in WORKLOADS.items():
            x = torch.randn(b, t, 80, generator=torch.Generator().manual_seed(1))
            with torch.inference_mode():
                diff = (fast(x) - model(x)).abs().max().item()
            tm = median_times({"eager": model, "fast": fast}, x, rounds)
            audio_s = b * t / 100.0
            xrt_e, xrt_f = audio_s / tm["eager"], audio_s / tm["fast"]
            print(f"| {label} | {count_params(model) / 1e6:.2f}M | {macs:.2f} | {wl} "
                  f"| {tm['eager'] * 1e3:.1f} | {xrt_e:.0f} | {tm['fast'] * 1e3:.1f} | {xrt_f:.0f} "
                  f"| {xrt_f / xrt_e:.2f} "
                  f"| {diff:.1e} |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
