"""S-Norm / AS-Norm of a score file against a cohort of speaker embeddings.

    python -m score.bin.norm --method snorm|asnorm --top-n 300 --cohort cohort.scp \
        --enroll spk_xvector.scp --test xvector.scp --scores in --out out [--backend-dir exp/x/backend]

Cohort scores are cosine scores (after the backend chain's transforms when --backend-dir is given).
Each enroll and each test embedding's cohort statistics are computed once and reused by all trials.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common.embeddings import load_embeddings
from score.bin._backend_io import run_cli, setup_logging
from score.bin._scoring_io import TrialSet, load_multi_enroll_set, load_trial_set, write_scores
from score.cosine import l2norm
from score.norm import score_norm
from score.trials import read_score_columns


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="norm", description=__doc__.split("\n")[0])
    ap.add_argument("--method", choices=("snorm", "asnorm"), required=True)
    ap.add_argument("--top-n", type=int, default=300, help="AS-Norm cohort size (default 300)")
    ap.add_argument("--cohort", required=True, help="scp of cohort embeddings (training speaker means)")
    ap.add_argument("--enroll", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--scores", required=True, help="input score file (enroll test score)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend-dir", default=None)
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="--enroll is utterance-level: each enroll id's cohort statistics use the mean "
                         "of its L2-normalised utterance embeddings (as cosine --enroll-mode mean-emb)")
    args = ap.parse_args(argv)
    setup_logging()

    def body() -> int:
        # The score file defines the trials; its own order is kept. It is read once.
        e_ids, t_ids, raw = read_score_columns(args.scores)
        if args.enroll_spk2utt:
            ms = load_multi_enroll_set((e_ids, t_ids), args.enroll, args.enroll_spk2utt, args.test,
                                       args.backend_dir)
            enroll = np.stack([l2norm(ms.utt[g]).mean(0) for g in ms.groups])
            ts = TrialSet(ms.ids, e_ids, t_ids, enroll, ms.test, ms.e_idx, ms.t_idx, ms.chain)
        else:
            ts = load_trial_set(args.scores, args.enroll, args.test, args.backend_dir, pairs=(e_ids, t_ids))
        _, cohort = load_embeddings(args.cohort)
        if ts.chain is not None:
            cohort = ts.chain.transform(cohort)
        normed = score_norm(args.method, raw, ts.enroll, ts.test, ts.e_idx, ts.t_idx, cohort, args.top_n)
        write_scores(args.out, ts.enroll_ids, ts.test_ids, normed)
        return 0
    return run_cli("norm", body)


if __name__ == "__main__":
    sys.exit(main())
