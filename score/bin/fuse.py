"""Fuse several systems' score files: mean, weighted sum, or prior-weighted logistic regression.

Usage: python -m score.bin.fuse [options] --method mean|weighted|logreg --scores <a> <b> ... --out <fused>
 e.g.: python -m score.bin.fuse --method logreg --train-trials data/dev/trials \\
           --train-scores exp/a/scores/dev.plda exp/b/scores/dev.plda \\
           --scores exp/a/scores/test.plda exp/b/scores/test.plda --out exp/fusion/scores/test.logreg
       python -m score.bin.fuse --method weighted --weights 0.6,0.4 --scores a.eval b.eval --out fused.eval

Scores are joined by (enroll, test) pair; the output follows the first eval file's order, and a
pair missing from another file is an error naming the pair. With dev trials, the fused output is a
calibrated LLR (logreg learns all weights; mean/weighted learn a scale and offset on top).
"""
from __future__ import annotations

import logging
import sys

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError
from score.fusion import FUSION_METHODS, Fusion
from score.logreg import L2_HELP
from score.trials import join_scores, read_scores, read_trials, write_score_file

log = logging.getLogger("fuse")


def _weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise AsvError(f"--weights {text!r}: expected comma-separated numbers, e.g. 0.6,0.4") from None


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("fuse", __doc__)
    ap.add_argument("--method", required=True, choices=sorted(FUSION_METHODS))
    ap.add_argument("--weights", help="comma-separated, one per system (method weighted)")
    ap.add_argument("--train-trials", help="dev trial list")
    ap.add_argument("--train-scores", nargs="+",
                    help="dev score files, one per system, same order as --scores")
    ap.add_argument("--scores", nargs="+", required=True, help="eval score files, one per system")
    ap.add_argument("--out", required=True, help="fused scores")
    ap.add_argument("--p-target", type=float, default=0.01)
    ap.add_argument("--l2", type=float, default=0.0,
                    help=L2_HELP)
    ap.add_argument("--save-model", help="write the fusion weights (JSON)")
    ap.add_argument("--model", help="apply saved fusion weights instead of training")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out, "--save-model": args.save_model},
                         {"--scores": args.scores, "--train-scores": args.train_scores,
                          "--train-trials": args.train_trials, "--model": args.model})
        n_sys = len(args.scores)
        if args.model:
            fusion = Fusion.load(args.model)
        else:
            dev = labels = None
            if bool(args.train_trials) != bool(args.train_scores):
                raise AsvError("--train-trials and --train-scores go together")
            if args.train_scores:
                if len(args.train_scores) != n_sys:
                    raise AsvError(f"{len(args.train_scores)} --train-scores files for {n_sys} "
                                   "--scores files; give one dev file per system, in the same order")
                e, t, labels = read_trials(args.train_trials)
                dev = np.stack([join_scores(e, t, p) for p in args.train_scores], axis=1)
            fusion = Fusion.train(args.method, n_sys, _weights(args.weights), dev, labels, args.p_target,
                                  args.l2)
            log.info("fusion %s: weights %s bias %.4g%s", fusion.method, np.round(fusion.weights, 4).tolist(),
                     fusion.bias, " (calibrated on dev)" if fusion.calibrated else "")
            if args.save_model:
                fusion.save(args.save_model)
        e, t, first = read_scores(args.scores[0])
        cols = [first] + [join_scores(e, t, p) for p in args.scores[1:]]
        fused = fusion.apply(np.stack(cols, axis=1))
        write_score_file(args.out, e, t, fused)
        log.info("wrote %d fused scores to %s", len(fused), args.out)
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
