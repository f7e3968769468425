"""Embedding-extraction speed on CPU, side by side: WeSpeaker's own models, ours (eager, extraction
mode and ONNX Runtime on our exported graph), with the same weights and the same inputs.

  . ./path.sh && python bench/extract.py [--wespeaker /path/to/wespeaker] [--threads 2] [--rounds 7]
        [--models resnet34,resnet34se,ecapa512,ecapa1024]

Models (80-dim fbank): WeSpeaker's ResNet34 (TSTP, 256-d), ECAPA_TDNN_c512 and _c1024 (ASTP, 192-d),
each as `pytorch.bin.import_model --from wespeaker` builds it, and SE-ResNet-34 (the CNSRC 2022
baseline, `resnet34se`), which WeSpeaker does not have (its column is then "-").
With --wespeaker, WeSpeaker's model is built from that checkout at run time (its code is never
copied here; bench/wespeaker_ref.py registers its packages), given random weights and random
BatchNorm statistics (so BN folding is exercised as on a trained model), and its state_dict is
loaded into ours through pytorch/interchange/wespeaker.py; without it our model gets the random
weights directly and the WeSpeaker column is "-".
Engines: WeSpeaker eager, ours eager (the plain baseline), ours in extraction mode
(pytorch.inference.prepare_for_inference: `pytorch.bin.extract --engine torch`), ONNX Runtime on
pytorch.export.onnx_bytes (`--engine onnx`: pytorch.export.OnnxRuntimeModel, intra-op threads =
--threads).
Workloads: 1 x 10 s (1000 frames) and 16 x 2 s; features excluded. x-RT = seconds of audio per
second of compute; each engine is run in turn within every round (median of `rounds`), so load from
other processes hits all alike. "best" is the faster of our two exact engines (torch, onnx); its
ratio to ONNX Runtime is 1.00 by definition when it is ONNX Runtime, so torch's own ratios are
printed too. `max diff` is the largest |embedding - WeSpeaker's| (or - our eager without
--wespeaker) over extraction mode and ONNX Runtime.
--flops adds the model's GFLOP per input (2 x pytorch.models.macs.count_macs: its convolutions and
matrix products) and the GFLOP/s that WeSpeaker and our best exact engine reach on it; for scale,
`python bench/sgemm.py` prints the machine's rate on a large square float32 GEMM.
--bfloat16 adds `pytorch.bin.extract --dtype bfloat16` (extraction mode under autocast): its x-RT,
its ratio to WeSpeaker and the lowest cosine between its embeddings and float32 ones. It is NOT an
exact engine, so it never counts as "best".
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wespeaker_ref import register_bare  # noqa: E402  bench/wespeaker_ref.py, a sibling script

from pytorch.export import OnnxRuntimeModel  # noqa: E402
from pytorch.inference import prepare_for_inference  # noqa: E402
from pytorch.interchange import wespeaker as ws_interchange  # noqa: E402
from pytorch.interchange.keymap import remap_state_dict  # noqa: E402
from pytorch.models import build_model  # noqa: E402
from pytorch.models.macs import count_macs  # noqa: E402

# key: (label, WeSpeaker module, WeSpeaker model name, model_args); a None module: ours only, from
# the config in model_args.
MODELS = {
    "resnet34": ("ResNet34", "resnet", "ResNet34", {"feat_dim": 80, "embed_dim": 256}),
    "resnet34se": ("SE-ResNet-34 (CNSRC)", None, None, {"name": "resnet34se", "feat_dim": 80}),
    "ecapa512": ("ECAPA C=512", "ecapa_tdnn", "ECAPA_TDNN_c512", {"feat_dim": 80, "embed_dim": 192}),
    "ecapa1024": ("ECAPA C=1024", "ecapa_tdnn", "ECAPA_TDNN_c1024", {"feat_dim": 80, "embed_dim": 192}),
}
WORKLOADS = {"1 x 10 s": (1, 1000), "16 x 2 s": (16, 200)}
Engine = Callable[[torch.Tensor], torch.Tensor]


def randomise_bn(model: nn.Module, seed: int) -> nn.Module:
    """Trained-like BatchNorm statistics (fresh ones are 0/1, which folding would not exercise)."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
    return model.eval()


def wespeaker_model(checkout: Path, module: str, name: str, model_args: dict) -> nn.Module:
    """WeSpeaker's model from the user's checkout, imported at run time (only the model file and
    pooling_layers.py are executed, see wespeaker_ref.register_bare)."""
    register_bare(checkout)
    if not (checkout / "wespeaker" / "models" / f"{module}.py").is_file():
        raise SystemExit(f"--wespeaker {checkout}: no wespeaker/models/{module}.py; pass the repository root")
    torch.manual_seed(0)
    return randomise_bn(getattr(importlib.import_module(f"wespeaker.models.{module}"), name)(**model_args), 1)


def our_model(key: str, state: dict | None = None) -> nn.Module:
    """Our model for MODELS[key], with WeSpeaker's `state` when given, else random weights."""
    _, module, name, model_args = MODELS[key]
    torch.manual_seed(0)
    if module is None:
        return randomise_bn(build_model(model_args), 1)
    sections, key_map, opts = ws_interchange.convert({"model": name, "model_args": model_args}, "bench")
    model = build_model(sections["model"])
    if state is None:
        return randomise_bn(model, 1)
    model.load_state_dict(remap_state_dict(state, key_map, model, "bench", **opts), strict=True)
    return model.eval()


def median_times(engines: dict[str, Engine], x: torch.Tensor, rounds: int) -> dict[str, float]:
    """Median time of each engine over `rounds` rounds in which every engine runs once. The order
    rotates from round to round, so that no engine always follows the same one (ONNX Runtime's
    threads spin on for a moment after a run and slow whatever comes next)."""
    times: dict[str, list[float]] = {k: [] for k in engines}
    order = list(engines)
    with torch.inference_mode():
        for f in engines.values():   # warm-up: oneDNN primitives, TorchScript profiling runs, ORT allocs
            for _ in range(3):
                f(x)
        for r in range(rounds):
            for k in order[r % len(order):] + order[:r % len(order)]:
                t = time.perf_counter()
                engines[k](x)
                times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def git_commit(checkout: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short=8", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}" if b else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wespeaker", type=Path, default=None, help="a WeSpeaker checkout (the repository root)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--bfloat16", action="store_true", help="also time --dtype bfloat16 (not exact)")
    ap.add_argument("--flops", action="store_true",
                    help="also print GFLOP per input and the GFLOP/s reached")
    args = ap.parse_args(argv)
    keys = args.models.split(",")
    bad = [k for k in keys if k not in MODELS]
    if bad:
        ap.error(f"--models: unknown {bad[0]!r}; choose from {','.join(MODELS)}")
    torch.set_num_threads(args.threads)
    ref = f"WeSpeaker {git_commit(args.wespeaker)} from {args.wespeaker}" if args.wespeaker else "no WeSpeaker"
    print(f"torch {torch.__version__}, {args.threads} threads, {ref}, "
          f"load average {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| model | input | x-RT WeSpeaker | x-RT ours eager | x-RT ours torch | x-RT ours ONNX Runtime "
          "| best exact engine | best / WeSpeaker | best / ONNX Runtime | torch / WeSpeaker | torch / ONNX Runtime "
          "| max diff |" + (" x-RT ours bfloat16 (not exact) | bfloat16 / WeSpeaker | min cosine bfloat16 / float32 |"
                            if args.bfloat16 else "")
          + (" GFLOP | GFLOP/s WeSpeaker | GFLOP/s best |" if args.flops else ""))
    print("|---" * (12 + 3 * args.bfloat16 + 3 * args.flops) + "|")
    for key in keys:
        label, module, name, model_args = MODELS[key]
        theirs = (wespeaker_model(args.wespeaker, module, name, model_args)
                  if args.wespeaker and module is not None else None)
        ours = our_model(key, theirs.state_dict() if theirs is not None else None)
        engines: dict[str, Engine] = {}
        if theirs is not None:
            engines["wespeaker"] = lambda x, m=theirs: m(x)[-1]
        engines.update(eager=ours, torch=prepare_for_inference(ours), onnx=OnnxRuntimeModel(ours, args.threads))
        if args.bfloat16:
            engines["bf16"] = prepare_for_inference(ours, dtype=torch.bfloat16)
        for wl, (b, t) in WORKLOADS.items():
            x = torch.randn(b, t, 80, generator=torch.Generator().manual_seed(1))
            with torch.inference_mode():
                ref_emb = engines["wespeaker" if theirs is not None else "eager"](x)
                diff = max((engines[k](x) - ref_emb).abs().max().item() for k in ("eager", "torch", "onnx"))
                cos = (nn.functional.cosine_similarity(engines["bf16"](x), engines["eager"](x)).min().item()
                       if args.bfloat16 else 0.0)
            n_flops = 2 * count_macs(ours, x) if args.flops else 0
            tm = median_times(engines, x, rounds=args.rounds)
            xrt = {k: b * t / 100.0 / v for k, v in tm.items()}
            ws = xrt.get("wespeaker")
            best = max(("torch", "onnx"), key=xrt.__getitem__)
            print(f"| {label} | {wl} | {f'{ws:.3g}' if ws else '-'} | {xrt['eager']:.3g} | {xrt['torch']:.3g} "
                  f"| {xrt['onnx']:.3g} | {'ONNX Runtime' if best == 'onnx' else 'torch'} "
                  f"| {_ratio(xrt[best], ws)} | {_ratio(xrt[best], xrt['onnx'])} "
                  f"| {_ratio(xrt['torch'], ws)} | {_ratio(xrt['torch'], xrt['onnx'])} | {diff:.1e} |"
                  + (f" {xrt['bf16']:.3g} | {_ratio(xrt['bf16'], ws)} | {cos:.6f} |" if args.bfloat16 else "")
                  + (f" {n_flops / 1e9:.2f} | {f'{n_flops * ws / (b * t / 100.0) / 1e9:.0f}' if ws else '-'} "
                     f"| {n_flops * xrt[best] / (b * t / 100.0) / 1e9:.0f} |" if args.flops else ""),
                  flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
