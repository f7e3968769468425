"""Calibrate scores to log-likelihood ratios: linear (a*s + b) or quality-aware (QMF), trained on dev.

Usage: python -m score.bin.calibrate [options] --train-trials <dev-trials> --train-scores <dev-scores> \\
           [--scores <eval-scores> --out <eval-llr>] [--save-model <json>]
       python -m score.bin.calibrate [options] --model <json> --scores <eval-scores> --out <eval-llr>
 e.g.: python -m score.bin.calibrate --train-trials data/dev/trials --train-scores exp/x/scores/dev.plda \\
           --scores exp/x/scores/test.plda --out exp/x/scores/test.plda_cal --save-model exp/x/cal.json
       python -m score.bin.calibrate --qmf true --enroll-dur data/{dev,test}_enroll/utt2dur \\
           --test-dur data/{dev,test}/utt2dur --train-trials data/dev/trials ... (as above)

QMF (--qmf true) adds the log durations of the trial's two sides (utt2dur or utt2num_frames: log-duration
is invariant to the unit up to the learned offset), looked up by the trial's enroll id and test id; pass
the dev and eval tables together (several files are merged). --enroll/--test (embedding scps keyed by the
enroll and test ids, as in score.bin.score) add the embedding magnitudes.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError, FormatError
from common.io import read_kv, require_file
from score.bin._scoring_io import load_table
from score.calibration import Calibration, quality_features
from score.logreg import L2_HELP
from score.trials import join_scores, read_scores, read_trials, write_score_file

log = logging.getLogger("calibrate")


def read_float_tables(paths: Sequence[str]) -> dict[str, float]:
    """Merge `key value` tables (utt2dur, utt2num_frames) into key -> float."""
    out: dict[str, float] = {}
    for path in paths:
        require_file(path, "duration table")
        for k, v in read_kv(path).items():
            try:
                out[k] = float(v.split()[0])
            except ValueError:
                raise FormatError(f"{path}: {k}: value {v!r} is not a number") from None
    return out


def _quality_names(args: argparse.Namespace) -> list[str]:
    if not args.qmf:
        return []
    if not (args.enroll_dur and args.test_dur):
        raise AsvError("--qmf true needs --enroll-dur and --test-dur (utt2dur or utt2num_frames files)")
    names = ["log_dur_enroll", "log_dur_test"]
    if bool(args.enroll) != bool(args.test):
        raise AsvError("give both --enroll and --test (embeddings, for their magnitudes), or neither")
    return names + (["mag_enroll", "mag_test"] if args.enroll else [])


def _tables(args: argparse.Namespace, names: list[str]) -> tuple[dict, dict]:
    tables, sources = {}, {}
    if not names:
        return tables, sources
    for side, paths in (("enroll", args.enroll_dur), ("test", args.test_dur)):
        tables[(side, "dur")] = read_float_tables(paths)
        sources[(side, "dur")] = ",".join(paths)
    for side, paths in (("enroll", args.enroll), ("test", args.test)):
        if paths:
            keys, x = load_table(paths)
            tables[(side, "mag")] = dict(zip(keys, np.linalg.norm(x, axis=1).tolist()))
            sources[(side, "mag")] = ",".join(paths)
    return tables, sources


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("calibrate", __doc__)
    ap.add_argument("--train-trials", help="dev trial list")
    ap.add_argument("--train-scores", help="dev scores (enroll test score)")
    ap.add_argument("--model", help="apply this saved model instead of training")
    ap.add_argument("--save-model", help="write the trained model (JSON) here")
    ap.add_argument("--scores", help="scores to calibrate")
    ap.add_argument("--out", help="calibrated scores (enroll test llr), in the order of --scores")
    ap.add_argument("--p-target", type=float, default=0.01, help="prior of the training objective")
    ap.add_argument("--l2", type=float, default=0.0,
                    help=L2_HELP)
    add_bool(ap, "--qmf", False, "quality-aware calibration (needs duration tables)")
    ap.add_argument("--enroll-dur", nargs="+", help="utt2dur/utt2num_frames keyed by enroll id")
    ap.add_argument("--test-dur", nargs="+", help="utt2dur/utt2num_frames keyed by test id")
    ap.add_argument("--enroll", nargs="+", help="enroll embeddings scp(s) (adds the magnitude)")
    ap.add_argument("--test", nargs="+", help="test embeddings scp(s) (adds the magnitude)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        inputs = {"--train-trials": args.train_trials, "--train-scores": args.train_scores,
                  "--model": args.model, "--scores": args.scores, "--enroll-dur": args.enroll_dur,
                  "--test-dur": args.test_dur, "--enroll": args.enroll, "--test": args.test}
        refuse_overwrite({"--out": args.out, "--save-model": args.save_model}, inputs)
        if bool(args.scores) != bool(args.out):
            raise AsvError("--scores and --out go together")
        if args.model:
            if args.train_trials or args.train_scores:
                raise AsvError("give either --model or --train-trials/--train-scores, not both")
            cal = Calibration.load(args.model)
            if args.qmf != bool(cal.quality):
                raise AsvError(f"{args.model}: model features {['score', *cal.quality]} need "
                               f"--qmf {'true and its tables' if cal.quality else 'false'}")
            names = cal.quality
        else:
            if not (args.train_trials and args.train_scores):
                raise AsvError("need --train-trials and --train-scores (or --model)")
            names = _quality_names(args)
        if names and "mag_enroll" in names and not args.enroll:
            raise AsvError(f"{args.model}: this model uses embedding magnitudes; give --enroll and --test")
        tables, sources = _tables(args, names)
        if not args.model:
            e, t, y = read_trials(args.train_trials)
            s = join_scores(e, t, args.train_scores)
            q = quality_features(names, e, t, tables, sources) if names else None
            cal = Calibration.train(s, y, args.p_target, q, names, l2=args.l2)
            log.info("trained on %d dev trials: %s", len(s), cal.describe())
            if args.save_model:
                cal.save(args.save_model)
        if args.scores:
            e, t, s = read_scores(args.scores)
            q = quality_features(names, e, t, tables, sources) if names else None
            llr = cal.apply(s, q)
            write_score_file(args.out, e, t, llr)
            log.info("wrote %d calibrated scores to %s", len(llr), args.out)
        elif not args.save_model:
            raise AsvError("nothing to do: give --scores/--out and/or --save-model")
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
