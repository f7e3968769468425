"""Two-speaker mixture lists for egs/overlap (see local/overlap/mixtures.py for the format).

Usage: python -m local.overlap.make_mixtures heldout [options] <src-dir> <train-list> <heldout-list>
       python -m local.overlap.make_mixtures mix [options] <src-dir> <wav-dir> <out-data-dir>
 e.g.: python -m local.overlap.make_mixtures heldout --per-spk 2 data/src_train lists/train lists/seen
       python -m local.overlap.make_mixtures mix --triplets 200 --seg-dur 3 --sir-db 0 --prefix seen \\
           data/seen_src mix/seen data/mix_seen

heldout: writes the utterance lists of a training / held-out split (`--per-spk` random utterances of
every speaker held out, for the seen-speaker test; utils/subset_data_dir.sh --utt-list makes the dirs).
mix --triplets N: N anchor/positive/negative triplets (3N mixtures) and their 2N trials.
mix --pairs N: N random mixtures (no trials). Same seed, same lists and audio.
"""
from __future__ import annotations

import sys

from common.cli import make_parser, run_main, setup_logging
from common.io import atomic_write
from local.overlap.mixtures import heldout_split, plan_pairs, plan_triplets, read_sources, write_mixtures

PROG = "make_mixtures"


def _write_list(path: str, utts: list[str]) -> None:
    with atomic_write(path) as f:
        f.writelines(u + "\n" for u in utts)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("heldout", help="training / held-out utterance lists")
    h.add_argument("--per-spk", type=int, default=2, help="held-out utterances per speaker (default: 2)")
    h.add_argument("--seed", type=int, default=0)
    h.add_argument("src")
    h.add_argument("train_list")
    h.add_argument("heldout_list")
    m = sub.add_parser("mix", help="a fixed mixture data dir")
    what = m.add_mutually_exclusive_group(required=True)
    what.add_argument("--triplets", type=int, help="protocol triplets (anchor, positive, negative)")
    what.add_argument("--pairs", type=int, help="random mixtures, no trials")
    m.add_argument("--seg-dur", type=float, default=3.0, help="segment length in seconds (default: 3)")
    m.add_argument("--sir-db", type=float, default=0.0, help="mixing ratio A over B in dB (default: 0)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--prefix", default="mix", help="mixture ids <prefix>-NNNN[-anc|-pos|-neg]")
    m.add_argument("src")
    m.add_argument("wav_dir")
    m.add_argument("out")
    args = ap.parse_args(argv)
    setup_logging(PROG)

    def body() -> None:
        utt2spk, wavs = read_sources(args.src)
        if args.cmd == "heldout":
            train, held = heldout_split(utt2spk, args.per_spk, args.seed)
            _write_list(args.train_list, train)
            _write_list(args.heldout_list, held)
            return
        if (args.triplets or args.pairs) < 1 or args.seg_dur <= 0:
            ap.error("--triplets/--pairs and --seg-dur must be positive")
        trials = None
        if args.triplets:
            mixes, trials = plan_triplets(utt2spk, args.triplets, args.seed, args.prefix)
        else:
            mixes = plan_pairs(utt2spk, args.pairs, args.seed, args.prefix)
        write_mixtures(mixes, wavs, args.seg_dur, args.sir_db, args.seed, args.wav_dir, args.out, trials)
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
