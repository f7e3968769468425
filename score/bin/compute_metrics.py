"""EER and minDCF of a score file against a Kaldi trial list.

    python -m score.bin.compute_metrics --trials data/test/trials --scores exp/x/scores/test.cos \
        [--p-target 0.01 0.001 0.05] [--json]

Trials are `enroll test target|nontarget`; scores are `enroll test score`, joined by the pair.
A trial without a score, or a score without a trial, is an error naming the pair.
"""
from __future__ import annotations

import argparse
import json
import sys

from score import metrics
from score.bin._backend_io import run_cli
from score.trials import join_scores, read_trials


def compute(trials: str, scores: str, p_targets: list[float]) -> dict:
    enroll, test, is_target = read_trials(trials)
    s = join_scores(enroll, test, scores)
    out = metrics.summary(s, is_target, tuple(p_targets))
    out.update(n_target=int(is_target.sum()), n_nontarget=int((~is_target).sum()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="compute_metrics", description=__doc__.split("\n")[0])
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--p-target", type=float, nargs="+", default=list(metrics.P_TARGETS))
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    def body() -> int:
        res = compute(args.trials, args.scores, args.p_target)
        if args.json:
            print(json.dumps(res))
        else:
            dcfs = " ".join(f"{k}={v:.4f}" for k, v in res.items() if k.startswith("minDCF"))
            print(f"EER={res['eer']:.3f}% {dcfs}")
        return 0
    return run_cli("compute_metrics", body)


if __name__ == "__main__":
    sys.exit(main())
