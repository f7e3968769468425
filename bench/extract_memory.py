"""Peak memory of `pytorch.bin.extract` on one long recording: whole-signal vs chunk by chunk.

  . ./path.sh && python bench/extract_memory.py [--minutes 30,120] [--whole-up-to 30] [--model ecapa512]
      [--pipe | --feats] [--tree DIR]

Writes a synthetic 16 kHz int16 recording of each length (one wav.scp entry; noise with a slow
amplitude envelope, so that the statistics vary along it), an exp dir with a random WeSpeaker-style
model (BN statistics randomised, as `bench/extract.py`), and runs the CLI in a child process, once
with `--long-frames 0` (the whole recording in one forward pass; only up to --whole-up-to
minutes, it grows by ~1 GB per 15 min) and once with the default chunking. Peak RSS is the
child's ru_maxrss (os.wait4; with --time-limit, the peak until it was stopped); `max diff` is the
largest |chunked - whole| embedding difference. With --pipe, wav.scp holds `cat rec.wav |` instead of
the path; with --feats the model reads compressed fbank from feats.scp (data.mode feats; the features
are computed first by `pytorch.bin.compute_feats`, untimed); --tree runs the CLI from another checkout
(e.g. `git worktree add /tmp/old HEAD~1`).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

from common.embeddings import load_embeddings
from pytorch.interchange import wespeaker as ws_interchange
from pytorch.interchange import write_experiment
from pytorch.interchange.sections import system_config
from pytorch.models import build_model

MODELS = {"ecapa512": ("ECAPA_TDNN_c512", 192), "ecapa1024": ("ECAPA_TDNN_c1024", 192), "resnet34": ("ResNet34", 256)}
RATE = 16000


def write_recording(path: Path, minutes: float, seed: int = 0) -> None:
    """Written a minute at a time, so this script's own memory stays small."""
    rng = np.random.default_rng(seed)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        for m in range(int(np.ceil(minutes))):
            n = int(min(1.0, minutes - m) * 60 * RATE)
            t = np.arange(n) / RATE + 60 * m
            env = 0.05 + 0.04 * np.sin(2 * np.pi * t / (7.0 + m % 5))
            f.write((rng.standard_normal(n) * env).astype(np.float32))


def make_exp(exp: Path, model: str) -> None:
    name, dim = MODELS[model]
    sections, _, _ = ws_interchange.convert({"model": name, "model_args": {"feat_dim": 80, "embed_dim": dim}},
                                            "bench")
    torch.manual_seed(0)
    net = build_model(sections["model"])
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    write_experiment(exp, system_config(**sections), net.state_dict())


def use_feats(exp: Path, data: Path) -> None:
    """Compressed fbank of `data` into data/feats.scp, with the exp's feature options, and the exp
    switched to data.mode feats."""
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    cfg["data"]["mode"] = "feats"
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    conf = data / "fbank.yaml"
    conf.write_text(yaml.safe_dump(cfg["features"]))
    subprocess.run([sys.executable, "-m", "pytorch.bin.compute_feats", "--config", str(conf), str(data),
                    str(data / "feats.ark"), str(data / "feats.scp")], check=True, stderr=subprocess.DEVNULL)


def run(exp: Path, data: Path, out: Path, threads: int, extra: list[str], limit: float = 0,
        tree: Path | None = None) -> tuple[float, float, bool]:
    """(peak RSS in MB, wall seconds, finished) of one extraction in a child process; with `limit`
    > 0 the child is stopped after that many seconds and the peak so far is reported."""
    cmd = [sys.executable, "-m", "pytorch.bin.extract", "--exp", str(exp), "--data", str(data), "--out", str(out),
           "--num-threads", str(threads), *extra]
    t = time.perf_counter()
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tree, env=env)
    stopped = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if limit and time.perf_counter() - t > limit:
            proc.kill()
            stopped = True
        time.sleep(0.5)
    wall = time.perf_counter() - t
    if status != 0 and not stopped:
        raise SystemExit(f"{' '.join(cmd)} failed (exit status {status}); run it by hand to see why")
    return usage.ru_maxrss / 1024, wall, not stopped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", default="30,120", help="comma-separated recording lengths")
    ap.add_argument("--whole-up-to", type=float, default=30, help="run the whole-signal path up to this length")
    ap.add_argument("--model", choices=list(MODELS), default="ecapa512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=0,
                    help="stop each extraction after this many seconds and report the peak RSS so far (0: none)")
    ap.add_argument("--pipe", action="store_true", help="wav.scp runs `cat rec.wav |`")
    ap.add_argument("--feats", action="store_true", help="extract from compressed fbank in feats.scp")
    ap.add_argument("--tree", type=Path, default=None, help="run the CLI from this checkout")
    args = ap.parse_args(argv)
    source = "feats.scp" if args.feats else "a pipe" if args.pipe else "a file"
    print(f"{args.model}, {args.threads} threads, {source}, "
          f"{'tree ' + str(args.tree) if args.tree else 'this tree'}, load average {os.getloadavg()[0]:.2f} at "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| recording | mode | peak RSS (MB) | wall (s) | x-RT | max diff to whole |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_exp(root / "exp", args.model)
        for minutes in (float(m) for m in args.minutes.split(",")):
            data = root / f"data{minutes:g}"
            data.mkdir()
            write_recording(data / "rec.wav", minutes)
            wav = data / "rec.wav"
            (data / "wav.scp").write_text(f"rec cat {wav} |\n" if args.pipe else f"rec {wav}\n")
            (data / "utt2spk").write_text("rec spk\n")
            (data / "spk2utt").write_text("spk rec\n")
            if args.feats:
                use_feats(root / "exp", data)
            modes = {"chunked": []}
            if minutes <= args.whole_up_to:
                modes = {"whole": ["--long-frames", "0"], **modes}
            embs = {}
            for mode, extra in modes.items():
                out = root / f"out{minutes:g}_{mode}"
                rss, wall, done = run(root / "exp", data, out, args.threads, extra, args.time_limit, args.tree)
                if not done:
                    print(f"| {minutes:g} min | {mode} | {rss:.0f} (stopped after {wall:.0f} s) | - | - | - |",
                          flush=True)
                    continue
                embs[mode] = load_embeddings(out / "xvector.scp")[1]
                diff = f"{np.abs(embs[mode] - embs['whole']).max():.1e}" if "whole" in embs else "-"
                print(f"| {minutes:g} min | {mode} | {rss:.0f} | {wall:.1f} | {minutes * 60 / wall:.0f} | {diff} |",
                      flush=True)
            (data / "rec.wav").unlink()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
