"""Write <data-dir>/utt2dur (or --out): from segments when present, else from the audio headers
(file paths) or by running the commands (pipes). Kaldi's utils/data/get_utt2dur.sh.

    python -m pytorch.bin.get_utt2dur [--out PATH] <data-dir>
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.errors import FormatError
from common.io import atomic_write, read_kv
from pytorch.data.audio import AudioError, audio_duration, read_segments

PROG = "get_utt2dur"


def durations(data_dir: Path) -> list[tuple[str, float]]:
    seg = data_dir / "segments"
    if seg.exists():
        rows = read_segments(seg)
        reco_dur: dict[str, float] = {}
        if any(end == -1 for _, _, _, end in rows):
            wav = read_kv(data_dir / "wav.scp")
            for utt, reco, start, end in rows:
                if end == -1 and reco not in reco_dur:
                    reco_dur[reco] = audio_duration(wav[reco], utt)
        return [(u, (reco_dur[r] if e == -1 else e) - s) for u, r, s, e in rows]
    return [(utt, audio_duration(spec, utt)) for utt, spec in read_kv(data_dir / "wav.scp").items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="default <data-dir>/utt2dur")
    ap.add_argument("data_dir")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(levelname)s: %(message)s")
    data_dir = Path(args.data_dir)
    try:
        rows = durations(data_dir)
        with atomic_write(args.out or data_dir / "utt2dur") as f:
            f.writelines(f"{u} {round(d, 5)}\n" for u, d in rows)
    except (FormatError, AudioError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    logging.getLogger(PROG).info("wrote durations of %d utterances", len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
