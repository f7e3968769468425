"""Wave-mode training's data loader on the three ways a wav.scp gives audio: WAV files, pipes (a command
at every read, as VoxCeleb2's m4a through ffmpeg) and the FLAC files that utils/decode_pipes.sh makes
of the pipes once; and what that decoding costs, through the CLI.

  . ./path.sh && python bench/loader_sources.py [--ffmpeg /path/to/ffmpeg] [--utts 96] [--rounds 3]

A synthetic training set of --utts utterances of 4-12 s (VoxCeleb2 dev averages 8 s) is written as 16-bit
WAV. The piped copy reads each through `<ffmpeg> -v 8 -i <f>.m4a -f wav -acodec pcm_s16le - |` (the
entry local/voxceleb/prepare.py writes; the m4a files are AAC made by that ffmpeg) when --ffmpeg is given,
else through `sox <f>.wav -t wav - |`. utils/decode_pipes.sh --nj 2 then decodes the piped copy to FLAC
(timed: seconds per hour of audio). The loader is the one of bench/train.py (2 s crops, noise, music,
babble and reverb at 0.15 each, speed 0.9/1.1 with probability 2/3, 80-bin fbank) in the main process,
i.e. one worker's rate; the three sources alternate over --rounds rounds in rotated order, and the
median rate is printed with the workers that 1,000 two-second chunks per second (a GPU step) need.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import _write_wave_dir, loader_config, time_loader, write_aug_dirs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCH = 8


def piped_copy(src: Path, dst: Path, ffmpeg: str | None) -> float:
    """dst: src's data dir with every recording behind a pipe; returns the hours of audio."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.wav"))
    lines, seconds = [], 0.0
    for line in (src / "wav.scp").read_text().splitlines():
        utt, path = line.split(maxsplit=1)
        seconds += sf.info(path).duration
        if ffmpeg:
            m4a = dst / f"{utt}.m4a"
            subprocess.run([ffmpeg, "-v", "8", "-y", "-i", path, "-c:a", "aac", "-b:a", "64k", str(m4a)], check=True)
            lines.append(f"{utt} {ffmpeg} -v 8 -i {m4a} -f wav -acodec pcm_s16le - |\n")
        else:
            lines.append(f"{utt} sox {path} -t wav - |\n")
    (dst / "wav.scp").write_text("".join(lines))
    return seconds / 3600


def decode(root: Path) -> float:
    """Seconds utils/decode_pipes.sh --nj 2 takes on root/pipe."""
    env = dict(os.environ, PATH=f"{ROOT / 'utils'}:{os.environ['PATH']}", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run(["bash", str(ROOT / "utils" / "decode_pipes.sh"), "--nj", "2", "pipe", "audio", "flac"],
                   cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ffmpeg", default=None, help="an ffmpeg binary: pipes decode AAC m4a (default: sox pipes)")
    ap.add_argument("--utts", type=int, default=96, help="training utterances (one epoch per timed pass)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the loader process")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_wave_dir(root / "wav", args.utts, rng, 24, 4.0, 12.0)
        write_aug_dirs(root / "aug", rng)
        hours = piped_copy(root / "wav", root / "pipe", args.ffmpeg)
        t_decode = decode(root)
        flac_mb = sum(p.stat().st_size for p in (root / "audio").glob("*.flac")) / 1e6
        wav_mb = sum(p.stat().st_size for p in (root / "wav").glob("*.wav")) / 1e6
        pipe = f"ffmpeg ({args.ffmpeg}) on AAC m4a" if args.ffmpeg else "sox on WAV"
        print(f"# wave-mode loader by audio source; {args.utts} utterances of 4-12 s ({hours * 60:.1f} min), "
              f"batch {BATCH}, one worker (the main process, {args.threads} torch thread); pipes: {pipe}; "
              f"{args.rounds} rotated rounds; load average {os.getloadavg()[0]:.2f}")
        print(f"utils/decode_pipes.sh --nj 2: {t_decode:.1f} s for {hours * 60:.1f} min of audio "
              f"({t_decode / hours:.0f} s per hour of audio); FLAC {flac_mb:.1f} MB against WAV {wav_mb:.1f} MB "
              f"({flac_mb / wav_mb:.2f})", flush=True)
        sources = {"WAV files": "wav", "pipes": "pipe", "FLAC from decode_pipes.sh": "flac"}
        rates: dict[str, list[float]] = {k: [] for k in sources}
        names = list(sources)
        for r in range(args.rounds):
            for k in names[r % len(names):] + names[:r % len(names)]:
                cfg = loader_config(root / sources[k], root / "aug", BATCH, 0, speed=2 / 3)
                rates[k].append(time_loader(cfg, torch.device("cpu")))
        print("| wav.scp entries | utterances/s per worker | vs WAV files | workers for 1,000 chunks/s | rounds |")
        print("|---|---|---|---|---|")
        med = {k: float(np.median(v)) for k, v in rates.items()}
        for k, v in rates.items():
            print(f"| {k} | {med[k]:.1f} | {med[k] / med['WAV files']:.2f} | {1000 / med[k]:.0f} | "
                  f"{' '.join(f'{x:.1f}' for x in v)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
