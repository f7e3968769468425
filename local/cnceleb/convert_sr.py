"""CNSRC 2022 speaker retrieval: the official Task2 package layout -> the asvlab SR format (called by
convert_sr.sh; local/cnceleb/prepare_sr.py documents the format and reads it).

Usage: python -m local.cnceleb.convert_sr <official-Task2-dir> <sr-dir>
 e.g.: python -m local.cnceleb.convert_sr /export/CNSRC/Task2_dev data/local/sr_dev

The official layout is known only from code (docs/data_formats.md §5): <dir>/target/*.wav, <dir>/pool/*.wav,
<dir>/metadata/enroll.meta (`<relative wav path> <meta-id>`, target = meta-id before the first '-') and, for
SR.dev, <dir>/metadata/test.meta (`pool/<name>.wav <meta-id>`, speaker = meta-id before the first '-').
Writes <sr-dir>/enroll.lst (one line per enroll.meta line), pool.lst (every pool/*.wav|flac, id = the file
name without extension, as score.bin.eval_retrieval --pool-labels-format cnsrc-meta names them) and, when
test.meta exists, pool.key (`none` for pool utterances whose speaker is not a target).
"""
from __future__ import annotations

import logging
import os

from common.cli import make_parser, run_main, setup_logging
from common.errors import FormatError
from local.cnceleb.prepare_sr import read_pairs
from local.prepcommon import write_dir

log = logging.getLogger(__name__)


def convert_official(src: str, sr_dir: str) -> None:
    """The official Task2 layout -> the asvlab SR format (see the module docstring)."""
    if not os.path.isdir(os.path.join(src, "pool")):
        raise FileNotFoundError(f"{src}: no pool/ folder; <official-Task2-dir> must be the unpacked Task2 package "
                                "(target/, pool/, metadata/)")
    meta = os.path.join(src, "metadata", "enroll.meta")
    enroll = [f"{m.split('-')[0]} {os.path.abspath(os.path.join(src, p))}"
              for _, p, m in read_pairs(meta, "<relative wav path> <meta-id>")]
    names = sorted(x for x in os.listdir(os.path.join(src, "pool")) if x.endswith((".wav", ".flac")))
    pool = {os.path.splitext(x)[0]: os.path.abspath(os.path.join(src, "pool", x)) for x in names}
    if not pool:
        raise FileNotFoundError(f"{src}/pool: no .wav or .flac files")
    files = {"enroll.lst": enroll, "pool.lst": [f"{u} {p}" for u, p in pool.items()]}
    tmeta = os.path.join(src, "metadata", "test.meta")
    if os.path.isfile(tmeta):
        targets = {e.split()[0] for e in enroll}
        key = {}
        for n, p, m in read_pairs(tmeta, "pool/<name>.wav <meta-id>"):
            u = os.path.splitext(os.path.basename(p))[0]
            if u not in pool:
                raise FormatError(f"{tmeta}:{n}: {p} is not in {src}/pool")
            spk = m.split("-")[0]
            key[u] = spk if spk in targets else "none"
        files["pool.key"] = [f"{u} {key.get(u, 'none')}" for u in pool]
    out = os.path.abspath(sr_dir)
    write_dir(os.path.dirname(out), os.path.basename(out), files)
    log.info("%s: %d enrollment lines, %d pool utterances%s", sr_dir, len(enroll), len(pool),
             ", pool.key from test.meta" if "pool.key" in files else " (no test.meta: no pool.key)")


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.cnceleb.convert_sr", __doc__)
    ap.add_argument("src", help="the official Task2 package (target/, pool/, metadata/)")
    ap.add_argument("sr_dir", help="output folder in the asvlab SR format")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)
    return run_main(ap.prog, lambda: convert_official(args.src, args.sr_dir))


if __name__ == "__main__":
    raise SystemExit(main())
