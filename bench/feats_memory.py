"""Peak memory of `pytorch.bin.compute_feats` on one long recording, read four ways (and of compute_vad).

  . ./path.sh && python bench/feats_memory.py [--minutes 30,120] [--compress true] [--baseline-tree DIR]

Writes a synthetic 16 kHz int16 recording of each length (bench/extract_memory.py's) and four data dirs
over it: the file itself; a pipe (`cat rec.wav |`); the file cut by a `segments` file into 10 s
segments; and the pipe cut the same way. Each runs `python -m pytorch.bin.compute_feats` in a child
process (`egs/mini/conf/fbank.yaml`, one thread) and prints its peak RSS (ru_maxrss from os.wait4) and
wall time. With --baseline-tree (a checkout of another commit, e.g. `git worktree add /tmp/old HEAD~1`)
the same commands also run from that tree, alternating with this one, and the two arks are compared
byte for byte. `pytorch.bin.compute_vad` then runs on the features of the plain file (each tree on its
own). A `python -c "import torch, kaldiio, soundfile"` child gives the imports' share.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extract_memory import write_recording  # noqa: E402  a sibling script

ROOT = Path(__file__).resolve().parent.parent
SEGMENT_SECONDS = 10


def child(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of `cmd` run in `cwd` with that tree on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} (in {cwd}) failed: {proc.stderr.read().decode().strip()[-500:]}")
    return usage.ru_maxrss / 1024, wall


def _same(files: list[Path]) -> str:
    if len(files) < 2:
        return ""
    return " | identical" if filecmp.cmp(files[0], files[1], shallow=False) else " | DIFFERENT"


def data_dirs(root: Path, wav: Path, minutes: float) -> dict[str, Path]:
    n = int(minutes * 60 // SEGMENT_SECONDS)
    segs = "".join(f"rec-{i:05d} rec {i * SEGMENT_SECONDS} {(i + 1) * SEGMENT_SECONDS}\n" for i in range(n))
    out = {}
    for name, spec, seg in (("file", str(wav), False), ("pipe", f"cat {wav} |", False),
                            ("file + segments", str(wav), True), ("pipe + segments", f"cat {wav} |", True)):
        d = root / f"data{minutes:g}_{name.replace(' + ', '_')}"
        d.mkdir()
        (d / "wav.scp").write_text(f"rec {spec}\n")
        if seg:
            (d / "segments").write_text(segs)
        out[name] = d
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", default="30,120", help="comma-separated recording lengths")
    ap.add_argument("--compress", default="true", choices=["true", "false"])
    ap.add_argument("--baseline-tree", default=None, help="another checkout to run the same commands from")
    args = ap.parse_args(argv)
    trees = {"this tree": ROOT}
    if args.baseline_tree:
        base = Path(args.baseline_tree).resolve()
        rev = subprocess.run(["git", "-C", str(base), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        trees[f"baseline {rev}"] = base
    conf = ROOT / "egs/mini/conf/fbank.yaml"
    print(f"compute_feats --compress {args.compress}, load average {os.getloadavg()[0]:.2f} at "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rss, _ = child([sys.executable, "-c", "import torch, kaldiio, soundfile"], ROOT)
    print(f"imports alone: {rss:.0f} MB\n")
    print("| recording | read as | " + " | ".join(f"{t}: peak RSS (MB), wall (s)" for t in trees)
          + (" | arks" if len(trees) > 1 else "") + " |")
    print("|---|---|" + "---|" * len(trees) + ("---|" if len(trees) > 1 else ""))
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:   # on the disk the arks would use
        root = Path(tmp)
        for minutes in (float(m) for m in args.minutes.split(",")):
            wav = root / f"rec{minutes:g}.wav"
            write_recording(wav, minutes)
            for name, d in data_dirs(root, wav, minutes).items():
                cells, arks = [], []
                for i, path in enumerate(trees.values()):
                    ark = root / f"{d.name}.{i}.ark"
                    rss, wall = child([sys.executable, "-m", "pytorch.bin.compute_feats", "--config", str(conf),
                                       "--compress", args.compress, str(d), str(ark), str(ark.with_suffix(".scp"))],
                                      path)
                    cells.append(f"{rss:.0f}, {wall:.1f}")
                    arks.append(ark)
                print(f"| {minutes:g} min | {name} | " + " | ".join(cells) + _same(arks) + " |", flush=True)
                if name == "file":   # VAD over those features (column 0 of the whole recording)
                    cells, vads = [], []
                    for i, (path, ark) in enumerate(zip(trees.values(), arks)):
                        vad = root / f"vad{minutes:g}.{i}.ark"
                        rss, wall = child([sys.executable, "-m", "pytorch.bin.compute_vad",
                                           str(ark.with_suffix(".scp")), str(vad), str(vad.with_suffix(".scp"))], path)
                        cells.append(f"{rss:.0f}, {wall:.1f}")
                        vads.append(vad)
                    print(f"| {minutes:g} min | compute_vad on the file's features | " + " | ".join(cells)
                          + _same(vads) + " |", flush=True)
                    for vad in vads:
                        vad.unlink()
                for ark in arks:
                    ark.unlink()
            wav.unlink()
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
