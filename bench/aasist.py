"""AASIST countermeasure speed and peak memory on CPU: asvlab's eval forward vs the official code.

  . ./path.sh && python bench/aasist.py [--aasist-repo /tmp/aasist] [--batch 16] [--rounds 5] [--threads 2]

Input: 10-s utterances (noise with a slow envelope), cut to the model's 64,600 samples (4.04 s) as the
official evaluation does. x-RT = seconds of the 10-s utterances scored per second of compute (divide by
2.48 for seconds of model input). With --aasist-repo (a checkout of github.com/clovaai/aasist; its
models/AASIST.py is imported from there, never copied here), its `Model` gets the same official weights
and input, and the two are timed in alternation in this process (median of --rounds, after a warm-up),
so load from other processes hits both alike. Peak RSS (VmHWM) of one forward pass of the batch is
measured for each in a fresh child process. `max diff` is the largest |asvlab - official| over the
logits and the 160-d embeddings.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pytorch.models.aasist import NB_SAMP, SAMPLE_RATE, fix_length, load_aasist

PRETRAINED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pretrained" / "aasist"
SECONDS = 10.0


def _input(batch: int) -> torch.Tensor:
    rng = np.random.default_rng(0)
    n = int(SECONDS * SAMPLE_RATE)
    env = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, n))[None]
    wave = (0.1 * env * rng.standard_normal((batch, n))).astype(np.float32)
    return torch.from_numpy(fix_length(wave, NB_SAMP).copy())


def _official(repo: str, conf: Path, ckpt: Path) -> torch.nn.Module:
    # by file path: bench/models.py would shadow the checkout's `models` package
    spec = importlib.util.spec_from_file_location("aasist_official", Path(repo) / "models" / "AASIST.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Model(json.loads(conf.read_text())["model_config"])
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def _runners(args: argparse.Namespace) -> dict:
    """name -> function(wave) -> (embedding, logits)."""
    ours = load_aasist(args.conf, args.checkpoint)
    run = {"asvlab": ours.embed}
    if args.aasist_repo:
        run["official"] = _official(args.aasist_repo, args.conf, args.checkpoint)
    return run


def _vm_hwm_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries that over from the forking parent across exec."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def _child(args: argparse.Namespace) -> None:
    """One forward pass of one implementation; prints its peak RSS (MB) before and after."""
    torch.set_num_threads(args.threads)
    fn = _runners(args)[args.child]
    x = _input(args.batch)
    before = _vm_hwm_mb()
    with torch.inference_mode():
        fn(x)
    print(json.dumps({"peak_mb": _vm_hwm_mb(), "before_mb": before}))


def _peak(args: argparse.Namespace, name: str) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--batch", str(args.batch), "--threads", str(args.threads),
           "--conf", str(args.conf), "--checkpoint", str(args.checkpoint)]
    if args.aasist_repo:
        cmd += ["--aasist-repo", args.aasist_repo]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aasist-repo", help="a checkout of clovaai/aasist: time its model alongside")
    ap.add_argument("--conf", type=Path, default=PRETRAINED / "AASIST.conf")
    ap.add_argument("--checkpoint", type=Path, default=PRETRAINED / "AASIST.pth")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", default="true", choices=["true", "false"], help="measure peak RSS")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    torch.set_num_threads(args.threads)
    runners = _runners(args)
    x = _input(args.batch)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch} x {SECONDS:g} s "
          f"(cut to {NB_SAMP} samples), load average {os.getloadavg()[0]:.2f}", flush=True)
    times: dict[str, list[float]] = {k: [] for k in runners}
    outs = {}
    with torch.inference_mode():
        for k, f in runners.items():  # warm-up, and the outputs to compare
            outs[k] = f(x)
        for _ in range(args.rounds):
            for k, f in runners.items():
                t = time.perf_counter()
                f(x)
                times[k].append(time.perf_counter() - t)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    peaks = {k: _peak(args, k) for k in runners} if args.memory == "true" else {}
    diff = None
    if "official" in outs:
        diff = max((outs["asvlab"][i] - outs["official"][i]).abs().max().item() for i in (0, 1))
    print("| implementation | s / batch | ms / utterance | x-RT (10-s utterances) | peak RSS MB | all times s |")
    print("|---|---|---|---|---|---|")
    for k in runners:
        peak = f"{peaks[k]['peak_mb']:.0f} (model loaded: {peaks[k]['before_mb']:.0f})" if k in peaks else "-"
        print(f"| {k} | {med[k]:.2f} | {1e3 * med[k] / args.batch:.0f} | {args.batch * SECONDS / med[k]:.1f} "
              f"| {peak} | {' '.join(f'{t:.2f}' for t in times[k])} |")
    if diff is not None:
        print(f"speed ratio asvlab / official {med['official'] / med['asvlab']:.2f}; peak RSS ratio "
              f"{peaks['asvlab']['peak_mb'] / peaks['official']['peak_mb']:.2f}; max diff {diff:.1e}"
              if peaks else f"speed ratio {med['official'] / med['asvlab']:.2f}; max diff {diff:.1e}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
