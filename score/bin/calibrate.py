"""Calibrate scores to log-likelihood ratios: linear (a*s + b) or quality-aware (QMF), trained on dev.

  python -m score.bin.calibrate --train-trials <dev-trials> --train-scores <dev-scores> \\
      --scores <eval-scores> --out <eval-calibrated> [--p-target 0.01] [--save-model cal.json]
  python -m score.bin.calibrate --model cal.json --scores <eval-scores> --out <eval-calibrated>
  QMF: add --qmf --enroll-dur <utt2dur...> --test-dur <utt2dur...> [--enroll-emb <scp...> --test-emb <scp...>]

Duration tables (utt2dur or utt2num_frames; log-duration is invariant to the unit up to the
learned offset) are looked up by the trial's enroll id and test id; pass the dev and eval tables
together (several files are merged). --enroll-emb/--test-emb add the embedding magnitudes.
"""
from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from common.io import atomic_write
from score.bin._backend_io import (
    join_scores,
    load_embeddings,
    read_float_tables,
    read_scores,
    read_trials,
    run_cli,
    setup_logging,
)
from score.calibration import Calibration, quality_features

log = logging.getLogger("calibrate")


def _quality_names(args: argparse.Namespace) -> list[str]:
    if not args.qmf:
        return []
    if not (args.enroll_dur and args.test_dur):
        raise ValueError("--qmf needs --enroll-dur and --test-dur (utt2dur or utt2num_frames files)")
    names = ["log_dur_enroll", "log_dur_test"]
    if bool(args.enroll_emb) != bool(args.test_emb):
        raise ValueError("give both --enroll-emb and --test-emb (embedding magnitudes), or neither")
    return names + (["mag_enroll", "mag_test"] if args.enroll_emb else [])


def _tables(args: argparse.Namespace, names: list[str]) -> tuple[dict, dict]:
    tables, sources = {}, {}
    if not names:
        return tables, sources
    for side, paths in (("enroll", args.enroll_dur), ("test", args.test_dur)):
        tables[(side, "dur")] = read_float_tables(paths)
        sources[(side, "dur")] = ",".join(paths)
    for side, paths in (("enroll", args.enroll_emb), ("test", args.test_emb)):
        if paths:
            keys, x = load_embeddings(paths)
            tables[(side, "mag")] = dict(zip(keys, np.linalg.norm(x, axis=1).tolist()))
            sources[(side, "mag")] = ",".join(paths)
    return tables, sources


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-trials", help="dev trial list")
    ap.add_argument("--train-scores", help="dev scores (enroll test score)")
    ap.add_argument("--model", help="apply this saved model instead of training")
    ap.add_argument("--save-model", help="write the trained model (JSON) here")
    ap.add_argument("--scores", help="scores to calibrate")
    ap.add_argument("--out", help="calibrated scores (enroll test llr), in the order of --scores")
    ap.add_argument("--p-target", type=float, default=0.01, help="prior of the training objective")
    ap.add_argument("--qmf", action="store_true", help="quality-aware calibration (needs duration tables)")
    ap.add_argument("--enroll-dur", nargs="+", help="utt2dur/utt2num_frames keyed by enroll id")
    ap.add_argument("--test-dur", nargs="+", help="utt2dur/utt2num_frames keyed by test id")
    ap.add_argument("--enroll-emb", nargs="+", help="enroll embeddings scp (adds the magnitude)")
    ap.add_argument("--test-emb", nargs="+", help="test embeddings scp (adds the magnitude)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        if bool(args.scores) != bool(args.out):
            raise ValueError("--scores and --out go together")
        if args.model:
            if args.train_trials or args.train_scores:
                raise ValueError("give either --model or --train-trials/--train-scores, not both")
            cal = Calibration.load(args.model)
            if args.qmf != bool(cal.quality):
                raise ValueError(f"{args.model}: model features {['score', *cal.quality]} need "
                                 f"{'--qmf and its tables' if cal.quality else 'no --qmf'}")
            names = cal.quality
        else:
            if not (args.train_trials and args.train_scores):
                raise ValueError("need --train-trials and --train-scores (or --model)")
            names = _quality_names(args)
        if names and "mag_enroll" in names and not args.enroll_emb:
            raise ValueError(f"{args.model}: this model uses embedding magnitudes; "
                             "give --enroll-emb and --test-emb")
        tables, sources = _tables(args, names)
        if not args.model:
            e, t, y = read_trials(args.train_trials)
            s = join_scores(e, t, args.train_scores)
            q = quality_features(names, e, t, tables, sources) if names else None
            cal = Calibration.train(s, y, args.p_target, q, names)
            log.info("trained on %d dev trials: %s", len(s), cal.describe())
            if args.save_model:
                cal.save(args.save_model)
        if args.scores:
            e, t, s = read_scores(args.scores)
            q = quality_features(names, e, t, tables, sources) if names else None
            llr = cal.apply(s, q)
            with atomic_write(args.out) as f:
                f.writelines(f"{a} {b} {v:.6f}\n" for a, b, v in zip(e.tolist(), t.tolist(), llr.tolist()))
            log.info("wrote %d calibrated scores to %s", len(llr), args.out)
        elif not args.save_model:
            raise ValueError("nothing to do: give --scores/--out and/or --save-model")
        return 0

    return run_cli(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
