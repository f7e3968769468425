"""Score a trial list by cosine or PLDA.

Usage: python -m score.bin.score [options] --method cosine|plda --enroll <scp> --test <scp> \\
           --trials <trials> --out <scores>
 e.g.: python -m score.bin.score --method plda --backend-dir exp/x/backend/plda \\
           --enroll-spk2utt data/enroll/spk2utt --enroll exp/x/embeddings/enroll/spk_xvector.scp \\
           --test exp/x/embeddings/test/xvector.scp --trials data/test/trials --out exp/x/scores/test.plda
       python -m score.bin.score --method cosine --enroll exp/x/embeddings/test/xvector.scp \\
           --test exp/x/embeddings/test/xvector.scp --trials data/test/utt_trials --out scores  # utt vs utt

--enroll holds one embedding per enroll id of the trials (e.g. speaker means, spk_xvector.scp), --test one
per test id. Utterance-vs-utterance trials (`utt1 utt2 target|nontarget`) work by passing the test
xvector.scp as --enroll too. With --backend-dir the chain's transforms (mean, LDA, lnorm, ...) are applied to
both sides first; plda needs a chain that ends in plda. Output: one `enroll test score` line per trial, in
trial order; the trial list may carry no labels (`enroll test`).
With --enroll-mode, --enroll is an utterance-level scp and --enroll-spk2utt maps each enroll id to its
utterances (see score/enroll.py for the modes; PLDA supports mean-emb, scored with the number of
utterances as Kaldi's --num-utts, and mean-score). Without --enroll-mode, --enroll-spk2utt only gives
PLDA the number of utterances behind each (already averaged) enroll embedding.
"""
from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError, FormatError
from common.io import read_kv
from score.bin._scoring_io import TrialSet, enroll_counts, load_trial_set, plda_of
from score.cosine import cosine_scores
from score.enroll import AQE_REFS, ENROLL_MODES, mean_embeddings, multi_enroll_scores
from score.trials import read_pairs, write_score_file

log = logging.getLogger("score")


def _num_utts(path: str, keys: list[str]) -> np.ndarray:
    """Kaldi's --num-utts table (`enroll_id count`); ids it lacks count 1 utterance."""
    table = read_kv(path)
    out = np.ones(len(keys), dtype=np.int64)
    for i, k in enumerate(keys):
        if k in table:
            v = table[k].split()[0]
            if not v.isdigit() or int(v) < 1:
                raise FormatError(f"{path}: {k}: utterance count {v!r} is not a positive integer")
            out[i] = int(v)
    return out


def _single(args: argparse.Namespace, ts: TrialSet) -> np.ndarray:
    if args.method == "cosine":
        return cosine_scores(ts.enroll, ts.test, ts.e_idx, ts.t_idx)
    plda = plda_of(ts, args.backend_dir)
    n_enroll = enroll_counts(args.enroll_spk2utt, ts.enroll_keys) if args.enroll_spk2utt else None
    if args.num_utts:
        n_enroll = _num_utts(args.num_utts, ts.enroll_keys)
    return plda.score_trials(ts.enroll, ts.test, ts.e_idx, ts.t_idx, n_enroll)


def _multi(args: argparse.Namespace, ts: TrialSet) -> np.ndarray:
    """Utterance-level enrollment aggregated per enroll id by --enroll-mode."""
    utt, groups = ts.enroll, ts.groups
    if args.method == "cosine":
        return multi_enroll_scores(utt, groups, ts.test, ts.e_idx, ts.t_idx, args.enroll_mode, args.aqe_alpha,
                                   args.aqe_ref)
    plda = plda_of(ts, args.backend_dir)
    sizes = np.array([len(g) for g in groups])
    if args.enroll_mode == "mean-emb":
        return plda.score_trials(mean_embeddings(utt, groups), ts.test, ts.e_idx, ts.t_idx, sizes)
    if args.enroll_mode != "mean-score":
        raise AsvError(f"--enroll-mode {args.enroll_mode} is for cosine; PLDA takes mean-emb or mean-score")
    # One PLDA trial per (trial, enrollment utterance), then the mean per trial.
    rep = sizes[ts.e_idx]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    flat = np.concatenate(groups)
    first = np.repeat(starts[ts.e_idx], rep)
    within = np.arange(rep.sum()) - np.repeat(np.r_[0, np.cumsum(rep)[:-1]], rep)
    per_utt = plda.score_trials(utt, ts.test, flat[first + within], np.repeat(ts.t_idx, rep), None)
    return np.add.reduceat(per_utt, np.r_[0, np.cumsum(rep)[:-1]]) / rep


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("score", __doc__)
    ap.add_argument("--method", choices=("cosine", "plda"), required=True)
    ap.add_argument("--backend-dir", default=None, help="back-end chain (score.bin.train_backend --out)")
    ap.add_argument("--enroll", required=True, help="enroll embeddings scp, keyed by the trials' enroll ids "
                    "(utterance-level with --enroll-mode; the test scp for utterance-vs-utterance trials)")
    ap.add_argument("--test", required=True, help="test embeddings scp, keyed by the trials' test ids")
    ap.add_argument("--trials", required=True, help="`enroll test [target|nontarget]` lines")
    ap.add_argument("--out", required=True, help="score file (enroll test score)")
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="enroll id -> utterances; PLDA: number of utterances (Kaldi --num-utts)")
    ap.add_argument("--num-utts", default=None,
                    help="PLDA: `enroll_id count` table of utterances behind each enroll embedding (Kaldi)")
    ap.add_argument("--enroll-mode", choices=ENROLL_MODES, default=None,
                    help="aggregate utterance-level --enroll per enroll id (needs --enroll-spk2utt)")
    ap.add_argument("--aqe-alpha", type=float, default=3.0, help="alpha of --enroll-mode aqe (default 3)")
    ap.add_argument("--aqe-ref", choices=AQE_REFS, default="test",
                    help="aqe weights from similarity to the test embedding or to the enrollment mean")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--trials": args.trials, "--enroll": args.enroll,
                                               "--test": args.test, "--enroll-spk2utt": args.enroll_spk2utt,
                                               "--num-utts": args.num_utts})
        if args.enroll_mode and not args.enroll_spk2utt:
            raise AsvError("--enroll-mode needs --enroll-spk2utt (enroll id -> its utterances in --enroll)")
        e_ids, t_ids, _ = read_pairs(args.trials, third=False)  # a label column, if any, is not needed
        ts = load_trial_set((e_ids, t_ids), args.enroll, args.test, args.backend_dir,
                            args.enroll_spk2utt if args.enroll_mode else None)
        scores = (_multi if args.enroll_mode else _single)(args, ts)
        write_score_file(args.out, e_ids, t_ids, scores)
        log.info("%s: %d trials scored by %s", args.out, len(scores), args.method)
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
