"""Score trials of two-speaker mixtures with the MIRNet paper's protocol (score/overlap.py).

Usage: python -m score.bin.score_overlap [options] --embeddings <xvector.scp> --trials <trials> --out <scores>
 e.g.: python -m score.bin.score_overlap --embeddings exp/mirnet_mini/embeddings/mix_seen/xvector.scp \\
           --trials data/mix_seen/trials --identities 2 --out exp/mirnet_mini/scores/mix_seen

Each mixture's row holds its --identities embeddings concatenated (a MIRNet system: 2; a
single-speaker system: 1). The score of `anchor other` is -min_{i,j} ||I_i(anchor) - I_j(other)||,
written as `anchor other score` for score.bin.compute_metrics (EER over the d_p / d_n pairs).
"""
from __future__ import annotations

import logging
import sys

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from score.bin._scoring_io import load_table
from score.cosine import index_ids
from score.overlap import protocol_scores, split_identities
from score.trials import read_trials, write_score_file

PROG = "score_overlap"
log = logging.getLogger(PROG)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--embeddings", required=True, help="xvector.scp of the mixtures")
    ap.add_argument("--trials", required=True, help="`anchor other target|nontarget` lines")
    ap.add_argument("--identities", type=int, default=1, help="embeddings per mixture row (default: 1)")
    add_bool(ap, "--length-norm", True, "scale every embedding to unit length first")
    ap.add_argument("--out", required=True, help="score file")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(PROG, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--embeddings": args.embeddings, "--trials": args.trials})
        keys, mat = load_table(args.embeddings)
        emb = split_identities(mat, args.identities, args.embeddings)
        e, t, is_target = read_trials(args.trials)
        rows_e = index_ids(e, keys, "anchor", args.trials)
        rows_t = index_ids(t, keys, "test", args.trials)
        scores = protocol_scores(emb, rows_e, rows_t, args.length_norm)
        write_score_file(args.out, e, t, scores)
        log.info("%d trials (%d target) scored into %s", len(scores), int(np.sum(is_target)), args.out)
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
