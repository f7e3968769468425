"""Score a trial list by cosine or PLDA.

    python -m score.bin.score --method cosine|plda [--backend-dir exp/x/backend] \
        --enroll spk_xvector.scp --test xvector.scp --trials trials --out scores

Enroll embeddings are keyed by the trials' enroll ids (e.g. speaker means), test by test ids. With
--backend-dir the chain's transforms (mean, LDA, lnorm, ...) are applied to both sides first; plda
needs a chain that ends in plda. Output: one `enroll test score` line per trial, in trial order.
"""
from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from score.bin._backend_io import run_cli, setup_logging
from score.bin._scoring_io import load_trial_set, write_scores
from score.cosine import cosine_scores
from score.io import read_spk2utt

log = logging.getLogger("score")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="score", description=__doc__.split("\n")[0])
    ap.add_argument("--method", choices=("cosine", "plda"), required=True)
    ap.add_argument("--backend-dir", default=None)
    ap.add_argument("--enroll", required=True, help="enroll embeddings scp (keyed by trial enroll ids)")
    ap.add_argument("--test", required=True, help="test embeddings scp")
    ap.add_argument("--trials", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="PLDA: number of enrollment utterances per enroll id (Kaldi --num-utts)")
    args = ap.parse_args(argv)
    setup_logging()

    def body() -> int:
        ts = load_trial_set(args.trials, args.enroll, args.test, args.backend_dir)
        if args.method == "cosine":
            scores = cosine_scores(ts.enroll, ts.test, ts.e_idx, ts.t_idx)
        else:
            if ts.chain is None or ts.chain.plda is None:
                raise ValueError(f"--method plda needs --backend-dir with a chain ending in plda "
                                 f"(got {args.backend_dir}); train one with score.bin.train_backend")
            n_enroll = None
            if args.enroll_spk2utt:
                spk2utt = read_spk2utt(args.enroll_spk2utt)
                n_enroll = np.array([len(spk2utt.get(k, [k])) for k in ts.enroll_keys])
            scores = ts.chain.plda.score_trials(ts.enroll, ts.test, ts.e_idx, ts.t_idx, n_enroll)
        write_scores(args.out, ts.enroll_ids, ts.test_ids, scores)
        log.info("%s: %d trials scored by %s", args.out, len(scores), args.method)
        return 0
    return run_cli("score", body)


if __name__ == "__main__":
    sys.exit(main())
