"""The user's path end to end: `python -m pytorch.bin.extract` on a wave data dir of 1-20 s utterances.

  . ./path.sh && python bench/extract_cli.py [--utts 32] [--model ecapa512] [--threads 2] [--rounds 2]

Writes `--utts` synthetic 16 kHz recordings (durations uniform in 1-20 s, one wav.scp entry each)
and an exp dir with a random WeSpeaker-style model (bench/extract_memory.py), then runs the CLI
as a child process with --engine torch and onnx, --padded-batches true and false, in turn in each
round (the median wall time is printed). Features are INCLUDED: wave mode computes the fbank on the
fly, as `pytorch.bin.extract` does on a wave-mode exp. The wall time includes the process start
(import torch, load the checkpoint, TorchScript freezing or the ONNX export and its parity checks)
and writing the tables; the `start-up` row is the same CLI on a data dir of one 1 s utterance.
WeSpeaker's own CLI (wespeaker/bin/extract.py) is not run: it needs torchaudio and its dataset
pipeline, which this environment does not have.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_memory import MODELS, make_exp, run, write_recording  # noqa: E402  a sibling script

RUNS = {"torch, padded batches": ["--engine", "torch"],
        "torch, equal-length buckets": ["--engine", "torch", "--padded-batches", "false"],
        "ONNX Runtime, padded batches": ["--engine", "onnx"],
        "ONNX Runtime, equal-length buckets": ["--engine", "onnx", "--padded-batches", "false"]}


def write_data_dir(path: Path, seconds: dict[str, float]) -> None:
    path.mkdir(parents=True)
    for i, (utt, sec) in enumerate(sorted(seconds.items())):
        write_recording(path / f"{utt}.wav", sec / 60.0, seed=i)
    (path / "wav.scp").write_text("".join(f"{u} {path / u}.wav\n" for u in sorted(seconds)))
    (path / "utt2spk").write_text("".join(f"{u} {u}\n" for u in sorted(seconds)))
    (path / "spk2utt").write_text("".join(f"{u} {u}\n" for u in sorted(seconds)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--utts", type=int, default=32)
    ap.add_argument("--model", choices=list(MODELS), default="ecapa512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    seconds = {f"u{i:04d}": float(rng.integers(100, 2001)) / 100 for i in range(args.utts)}
    audio_s = sum(seconds.values())
    print(f"{args.model}, {args.utts} utterances, {audio_s:.0f} s of audio (1-20 s each), {args.threads} threads, "
          f"{args.rounds} rounds, load average {os.getloadavg()[0]:.2f} at "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| run | wall (s) | utterances/s | x-RT | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_exp(root / "exp", args.model)
        write_data_dir(root / "data", seconds)
        write_data_dir(root / "one", {"u": 1.0})
        runs = {**RUNS, **{f"start-up ({k.split(',')[0]})": ["one", *v] for k, v in RUNS.items() if "padded" in k}}
        walls: dict[str, list[float]] = {k: [] for k in runs}
        rss: dict[str, float] = {}
        for r in range(args.rounds):
            for i, (k, extra) in enumerate(runs.items()):
                data = root / ("one" if extra[:1] == ["one"] else "data")
                extra = [a for a in extra if a != "one"]
                peak, wall, _ = run(root / "exp", data, root / f"out{r}_{i}", args.threads, extra)
                walls[k].append(wall)
                rss[k] = max(rss.get(k, 0.0), peak)
        for k, ws in walls.items():
            wall = sorted(ws)[len(ws) // 2]
            if k.startswith("start-up"):
                print(f"| {k}: one 1 s utterance | {wall:.1f} | - | - | {rss[k]:.0f} |")
            else:
                print(f"| {k} | {wall:.1f} | {args.utts / wall:.3g} | {audio_s / wall:.3g} | {rss[k]:.0f} |")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
