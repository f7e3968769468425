"""Data-dir tools at scale: validate, fix, split and subset a 500k-utterance Kaldi data dir.

  python bench/datadir_500k.py                  # 500,000 utterances of 5,000 speakers
  python bench/datadir_500k.py --num-utts 20000 # quicker

The dir (utt2spk, spk2utt, wav.scp with paths, utt2dur; no audio) is built in a temp dir. Each tool
runs in its own process tree; the figures are its wall time and the peak resident memory of its
largest process (getrusage of the children, as /usr/bin/time -v reports it).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

UTILS = Path(__file__).resolve().parents[1] / "utils"
# Runs argv, then prints "<seconds> <peak RSS in KiB> <exit status>" of its process tree.
PROBE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
         "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
         "sys.stderr.write(r.stderr[-2000:] if r.returncode else ''); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")


def build(d: Path, num_utts: int, utts_per_spk: int) -> None:
    d.mkdir(parents=True)
    num_spks = (num_utts + utts_per_spk - 1) // utts_per_spk
    utts = [(f"spk{i // utts_per_spk:06d}-utt{i % utts_per_spk:04d}", f"spk{i // utts_per_spk:06d}")
            for i in range(num_utts)]
    with open(d / "utt2spk", "w") as f:
        f.writelines(f"{u} {s}\n" for u, s in utts)
    with open(d / "wav.scp", "w") as f:
        f.writelines(f"{u} /corpus/wav/{s}/{u}.wav\n" for u, s in utts)
    with open(d / "utt2dur", "w") as f:
        f.writelines(f"{u} {2 + (i % 70) / 10:.2f}\n" for i, (u, _) in enumerate(utts))
    with open(d / "spk2utt", "w") as f:
        for k in range(num_spks):
            f.write(f"spk{k:06d} " + " ".join(u for u, _ in utts[k * utts_per_spk:(k + 1) * utts_per_spk]) + "\n")


def measure(name: str, argv: list[str]) -> tuple[float, int]:
    env = dict(os.environ, LC_ALL="C", PATH=f"{UTILS}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, check=True)
    secs, kib, rc = out.stdout.split()
    if int(rc) != 0:
        raise SystemExit(f"datadir_500k: {name} failed (exit {rc}):\n{out.stderr}")
    return float(secs), int(kib)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-utts", type=int, default=500_000)
    ap.add_argument("--utts-per-spk", type=int, default=100)
    ap.add_argument("--nj", type=int, default=64)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="datadir_500k.") as tmp:
        d = Path(tmp) / "train"
        build(d, args.num_utts, args.utts_per_spk)
        n = args.num_utts
        runs = [
            ("validate_data_dir.sh --no-feats", ["validate_data_dir.sh", "--no-feats", "--no-text", str(d)]),
            ("fix_data_dir.sh (consistent dir)", ["fix_data_dir.sh", str(d)]),
            (f"split_data.sh {d.name} {args.nj}", ["split_data.sh", str(d), str(args.nj)]),
            (f"split_data.sh --per-spk {d.name} {args.nj}", ["split_data.sh", "--per-spk", str(d), str(args.nj)]),
            (f"subset_data_dir.sh (random {n // 10})", ["subset_data_dir.sh", str(d), str(n // 10), f"{tmp}/sub"]),
            (f"subset_data_dir.sh --first {n // 2}",
             ["subset_data_dir.sh", "--first", str(d), str(n // 2), f"{tmp}/first"]),
        ]
        # A dir that needs fixing: one utterance lacks its duration, so every file is rewritten.
        print(f"data dir: {n} utterances, {(n + args.utts_per_spk - 1) // args.utts_per_spk} speakers "
              f"(utt2spk, spk2utt, wav.scp, utt2dur)")
        print(f"{'tool':44s} {'seconds':>8s} {'peak RSS MiB':>13s}")
        for name, cmd in runs:
            secs, kib = measure(name, cmd)
            print(f"{name:44s} {secs:8.2f} {kib / 1024:13.1f}", flush=True)
        lines = (d / "utt2dur").read_text().splitlines()
        (d / "utt2dur").write_text("\n".join(lines[:-1]) + "\n")
        secs, kib = measure("fix", ["fix_data_dir.sh", str(d)])
        print(f"{'fix_data_dir.sh (drops 1, rewrites all)':44s} {secs:8.2f} {kib / 1024:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
