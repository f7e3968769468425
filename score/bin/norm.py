"""S-Norm / AS-Norm of a score file against a cohort of speaker embeddings.

Usage: python -m score.bin.norm [options] --method snorm|asnorm --cohort <scp> --enroll <scp> --test <scp> \\
           --scores <in> --out <out>
 e.g.: python -m score.bin.norm --method asnorm --top-n 300 --cohort exp/x/backend/cohort.scp \\
           --backend-dir exp/x/backend/cosine --enroll exp/x/embeddings/enroll/spk_xvector.scp \\
           --test exp/x/embeddings/test/xvector.scp --scores exp/x/scores/test.cosine \\
           --out exp/x/scores/test.cosine_asnorm
       python -m score.bin.norm --method asnorm --scoring plda --cohort exp/x/backend/cohort.scp \
           --backend-dir exp/x/backend/plda --enroll-spk2utt data/enroll/spk2utt \
           --enroll exp/x/embeddings/enroll/spk_xvector.scp --test exp/x/embeddings/test/xvector.scp \
           --scores exp/x/scores/test.plda --out exp/x/scores/test.plda_asnorm

The score file defines the trials (its order is kept). --enroll and --test are the embeddings the scores
came from, as in score.bin.score. Cohort scores are cosine scores (after the back-end chain's transforms
when --backend-dir is given), or with --scoring plda the LLRs of the --backend-dir chain's PLDA, each cohort
embedding taken as one utterance. Each enroll and each test embedding's cohort statistics are computed once
and reused by all trials.
--enroll-spk2utt means what it means to score.bin.score for the same scores: with cosine, --enroll is
utterance-level (as --enroll-mode mean-emb); with plda, the number of utterances behind each (already
averaged) enroll embedding, so pass the same --enroll and --enroll-spk2utt as to score.bin.score.
"""
from __future__ import annotations

import sys

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from score.bin._scoring_io import enroll_counts, load_table, load_trial_set, plda_of
from score.cosine import l2norm
from score.norm import score_norm
from score.trials import read_scores, write_score_file


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("norm", __doc__)
    ap.add_argument("--method", choices=("snorm", "asnorm"), required=True)
    ap.add_argument("--scoring", choices=("cosine", "plda"), default="cosine",
                    help="cohort scores by cosine or by the --backend-dir chain's PLDA (default cosine)")
    ap.add_argument("--top-n", type=int, default=300, help="AS-Norm cohort size (default 300)")
    ap.add_argument("--cohort", required=True, help="scp of cohort embeddings (training speaker means)")
    ap.add_argument("--enroll", required=True, help="enroll embeddings scp, keyed by the enroll ids")
    ap.add_argument("--test", required=True, help="test embeddings scp, keyed by the test ids")
    ap.add_argument("--scores", required=True, help="input score file (enroll test score)")
    ap.add_argument("--out", required=True, help="normalised score file")
    ap.add_argument("--backend-dir", default=None, help="apply this back-end chain's transforms first")
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="cosine: --enroll is utterance-level, each enroll id's cohort statistics use the mean "
                         "of its L2-normalised utterance embeddings (as cosine --enroll-mode mean-emb); plda: "
                         "the number of utterances behind each enroll embedding (as score.bin.score)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--scores": args.scores, "--enroll": args.enroll,
                                               "--test": args.test, "--cohort": args.cohort,
                                               "--enroll-spk2utt": args.enroll_spk2utt})
        e_ids, t_ids, raw = read_scores(args.scores)
        plda = args.scoring == "plda"
        ts = load_trial_set((e_ids, t_ids), args.enroll, args.test, args.backend_dir,
                            None if plda else args.enroll_spk2utt)
        enroll = ts.enroll
        if ts.groups is not None:
            enroll = np.stack([l2norm(ts.enroll[g]).mean(0) for g in ts.groups])
        model = plda_of(ts, args.backend_dir) if plda else None
        n_enroll = enroll_counts(args.enroll_spk2utt, ts.enroll_keys) if plda and args.enroll_spk2utt else None
        _, cohort = load_table(args.cohort)
        if ts.chain is not None:
            cohort = ts.chain.transform(cohort)
        normed = score_norm(args.method, raw, enroll, ts.test, ts.e_idx, ts.t_idx, cohort, args.top_n,
                            model, n_enroll)
        write_score_file(args.out, e_ids, t_ids, normed)
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
