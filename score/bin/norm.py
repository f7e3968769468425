"""S-Norm / AS-Norm of a score file against a cohort of speaker embeddings.

Usage: python -m score.bin.norm [options] --method snorm|asnorm --cohort <scp> --enroll <scp> --test <scp> \\
           --scores <in> --out <out>
 e.g.: python -m score.bin.norm --method asnorm --top-n 300 --cohort exp/x/backend/cohort.scp \\
           --backend-dir exp/x/backend/cosine --enroll exp/x/embeddings/enroll/spk_xvector.scp \\
           --test exp/x/embeddings/test/xvector.scp --scores exp/x/scores/test.cosine \\
           --out exp/x/scores/test.cosine_asnorm

The score file defines the trials (its order is kept). --enroll and --test are the embeddings the scores
came from, as in score.bin.score. Cohort scores are cosine scores (after the back-end chain's transforms
when --backend-dir is given). Each enroll and each test embedding's cohort statistics are computed once and
reused by all trials.
"""
from __future__ import annotations

import sys

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from score.bin._scoring_io import load_table, load_trial_set
from score.cosine import l2norm
from score.norm import score_norm
from score.trials import read_scores, write_score_file


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("norm", __doc__)
    ap.add_argument("--method", choices=("snorm", "asnorm"), required=True)
    ap.add_argument("--top-n", type=int, default=300, help="AS-Norm cohort size (default 300)")
    ap.add_argument("--cohort", required=True, help="scp of cohort embeddings (training speaker means)")
    ap.add_argument("--enroll", required=True, help="enroll embeddings scp, keyed by the enroll ids")
    ap.add_argument("--test", required=True, help="test embeddings scp, keyed by the test ids")
    ap.add_argument("--scores", required=True, help="input score file (enroll test score)")
    ap.add_argument("--out", required=True, help="normalised score file")
    ap.add_argument("--backend-dir", default=None, help="apply this back-end chain's transforms first")
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="--enroll is utterance-level: each enroll id's cohort statistics use the mean "
                         "of its L2-normalised utterance embeddings (as cosine --enroll-mode mean-emb)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--scores": args.scores, "--enroll": args.enroll,
                                               "--test": args.test, "--cohort": args.cohort,
                                               "--enroll-spk2utt": args.enroll_spk2utt})
        e_ids, t_ids, raw = read_scores(args.scores)
        ts = load_trial_set((e_ids, t_ids), args.enroll, args.test, args.backend_dir, args.enroll_spk2utt)
        enroll = ts.enroll
        if ts.groups is not None:
            enroll = np.stack([l2norm(ts.enroll[g]).mean(0) for g in ts.groups])
        _, cohort = load_table(args.cohort)
        if ts.chain is not None:
            cohort = ts.chain.transform(cohort)
        normed = score_norm(args.method, raw, enroll, ts.test, ts.e_idx, ts.t_idx, cohort, args.top_n)
        write_score_file(args.out, e_ids, t_ids, normed)
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
