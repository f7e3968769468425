"""Decode the piped entries of a wav.scp (`cmd |`, e.g. VoxCeleb2's m4a through ffmpeg) once into
audio files, and write a wav.scp that reads them. Behind utils/decode_pipes.sh (one job per part).

Each piped recording becomes <audio-dir>/<recording>.flac, lossless (pytorch.data.decode: 8-24-bit
PCM to FLAC, other samples to WAV), written under a temporary name and renamed when complete, with
its command in the file's comment tag: a rerun keeps the files of unchanged commands, so a killed
job resumes where it stopped. Entries that are already files are copied to <out-wav.scp> as they are.

Usage: python -m pytorch.bin.decode_pipes [options] <wav.scp> <audio-dir> <out-wav.scp>
 e.g.: python -m pytorch.bin.decode_pipes data/vox2_dev/wav.scp audio/vox2_dev audio/vox2_dev/wav.scp
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from common.io import atomic_write, read_kv
from pytorch.data.audio import PipeOutput, is_pipe
from pytorch.data.decode import FORMATS, decode_pipe

PROG = "decode_pipes"
log = logging.getLogger(PROG)


def run(args: argparse.Namespace) -> None:
    refuse_overwrite({"<out-wav.scp>": args.out_scp}, {"<wav.scp>": args.wav_scp})
    entries = read_kv(args.wav_scp)
    if not entries:
        raise FormatError(f"{args.wav_scp}: empty; nothing to decode")
    out_dir = Path(args.audio_dir).resolve()   # absolute paths: the wav.scp works from any directory
    out_dir.mkdir(parents=True, exist_ok=True)
    lines, counts = [], {"decoded": 0, "kept": 0, "files": 0}
    pipes = PipeOutput(out_dir, prefix=".decode-pipe.")
    try:
        for reco, spec in tqdm(entries.items(), desc=PROG, unit="rec", mininterval=10, disable=None):
            if not is_pipe(spec):
                lines.append(f"{reco} {spec}\n")
                counts["files"] += 1
                continue
            path, decoded = decode_pipe(spec, reco, out_dir, args.format, pipes, args.allow_truncated_audio)
            counts["decoded" if decoded else "kept"] += 1
            lines.append(f"{reco} {path}\n")
    finally:
        pipes.close()
    with atomic_write(args.out_scp) as f:
        f.writelines(lines)
    log.info("%d recordings: decoded %d pipes, kept %d files decoded before, %d entries were files already",
             len(entries), counts["decoded"], counts["kept"], counts["files"])


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--format", choices=FORMATS, default="flac",
                    help="container for 8-24-bit PCM (other samples always go to WAV); default flac")
    add_bool(ap, "--allow-truncated-audio", False,
             "a command whose WAV output is shorter than its header says: keep what is there")
    ap.add_argument("wav_scp")
    ap.add_argument("audio_dir")
    ap.add_argument("out_scp")
    args = ap.parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
