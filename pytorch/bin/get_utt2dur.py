"""Write <data-dir>/utt2dur (or --out): from segments when present, else from the audio headers
(file paths) or by running the commands (pipes). Kaldi's utils/data/get_utt2dur.sh.

Usage: python -m pytorch.bin.get_utt2dur [options] <data-dir>
 e.g.: python -m pytorch.bin.get_utt2dur --out data/train/split4/1/utt2dur data/train/split4/1
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.io import atomic_write, read_kv
from pytorch.data.audio import audio_duration, read_segments

PROG = "get_utt2dur"
log = logging.getLogger(PROG)


def durations(data_dir: Path) -> list[tuple[str, float]]:
    seg = data_dir / "segments"
    if seg.exists():
        rows = read_segments(seg)
        reco_dur: dict[str, float] = {}
        if any(end == -1 for _, _, _, end in rows):
            wav = read_kv(data_dir / "wav.scp")
            for utt, reco, _start, end in rows:
                if end == -1 and reco not in reco_dur:
                    reco_dur[reco] = audio_duration(wav[reco], utt)
        return [(u, (reco_dur[r] if e == -1 else e) - s) for u, r, s, e in rows]
    return [(utt, audio_duration(spec, utt)) for utt, spec in read_kv(data_dir / "wav.scp").items()]


def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    out = args.out or data_dir / "utt2dur"
    refuse_overwrite({"--out": str(out)},
                     {"<data-dir>": [str(data_dir / f) for f in ("wav.scp", "segments")]})
    rows = durations(data_dir)
    with atomic_write(out) as f:
        f.writelines(f"{u} {round(d, 5)}\n" for u, d in rows)
    log.info("wrote durations of %d utterances", len(rows))


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--out", default=None, help="default <data-dir>/utt2dur")
    ap.add_argument("data_dir")
    args = ap.parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
