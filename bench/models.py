"""Embedding-extraction speed on CPU: eager PyTorch vs extraction mode (pytorch.inference).

  . ./path.sh && python bench/models.py [--threads 2] [--rounds 7] [--quick]

Models at full size with 80-dim fbank: SE-ResNet-34 (CNSRC 2022 baseline: 32 base channels, SE,
TSP, 256-d), ECAPA-TDNN C=512 and C=1024 (192-d). Workloads: one 10 s utterance (1 x 1000 x 80)
and a batch of 16 x 200 frames (16 x 2 s); features excluded. x-RT = seconds of audio per second
of compute. Eager and extraction mode are timed in alternation (median of `rounds`), so load from
other processes hits both alike. BN statistics are randomised so that folding is exercised as on a
trained model. The comparison with WeSpeaker's own code and ONNX Runtime, side by side in one run,
is bench/extract.py.
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from pytorch.inference import prepare_for_inference
from pytorch.models import build_model
from pytorch.models.macs import count_macs, count_params

MODELS = {  # label: model config
    "SE-ResNet-34 (CNSRC)": {"name": "resnet34se", "feat_dim": 80},
    "ECAPA C=512": {"name": "ecapa_tdnn", "feat_dim": 80, "channels": 512},
    "ECAPA C=1024": {"name": "ecapa_tdnn", "feat_dim": 80, "channels": 1024},
}
WORKLOADS = {"1 x 10 s": (1, 1000), "16 x 2 s": (16, 200)}


def _trained_like(cfg: dict) -> nn.Module:
    torch.manual_seed(0)
    model = build_model(cfg)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _median_times(fns: dict, x: torch.Tensor, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.inference_mode():
        for f in fns.values():      # warm-up: oneDNN primitive creation, TorchScript profiling runs
            for _ in range(3):
                f(x)
        for _ in range(rounds):
            for k, f in fns.items():
                t = time.perf_counter()
                f(x)
                times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="ECAPA C=512 only, 3 rounds")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = {k: v for k, v in MODELS.items() if not args.quick or k == "ECAPA C=512"}
    rounds = 3 if args.quick else args.rounds
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    print("| model | params | GMACs (2 s) | input | eager ms | x-RT eager | extraction ms | x-RT extraction "
          "| speed-up | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, cfg in models.items():
        model = _trained_like(cfg)
        fast = prepare_for_inference(model)
        macs = count_macs(model, torch.zeros(1, 200, 80)) / 1e9
        for wl, (b, t) in WORKLOADS.items():
            x = torch.randn(b, t, 80, generator=torch.Generator().manual_seed(1))
            with torch.inference_mode():
                diff = (fast(x) - model(x)).abs().max().item()
            tm = _median_times({"eager": model, "fast": fast}, x, rounds)
            audio_s = b * t / 100.0
            xrt_e, xrt_f = audio_s / tm["eager"], audio_s / tm["fast"]
            print(f"| {label} | {count_params(model) / 1e6:.2f}M | {macs:.2f} | {wl} "
                  f"| {tm['eager'] * 1e3:.1f} | {xrt_e:.0f} | {tm['fast'] * 1e3:.1f} | {xrt_f:.0f} "
                  f"| {xrt_f / xrt_e:.2f} "
                  f"| {diff:.1e} |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
