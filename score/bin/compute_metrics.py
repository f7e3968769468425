"""EER, minDCF, actDCF and Cllr of a score file against a Kaldi trial list.

Usage: python -m score.bin.compute_metrics [options] --trials <trials> --scores <scores>
 e.g.: python -m score.bin.compute_metrics --trials data/test/trials --scores exp/x/scores/test.cosine \\
           --results exp/x/results.tsv --system x --backend cosine --norm none --trials-name mini

Trials are `enroll test target|nontarget`; scores are `enroll test score`, joined by the pair.
A trial without a score, a score without a trial, or a pair listed twice is an error naming the line.
actDCF (at the Bayes threshold for the first p-target) and Cllr assume the scores are calibrated LLRs;
on raw cosine scores they only show how far from calibrated the scores are.
With --results one row is appended to that results.tsv (see score/results.py).
"""
from __future__ import annotations

import json
import os
import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError
from score import metrics
from score.results import append_result
from score.trials import trial_scores


def compute(trials: str, scores: str, p_targets: list[float]) -> dict:
    s, is_target = trial_scores(trials, scores)
    out = metrics.summary(s, is_target, tuple(p_targets))
    out[f"actDCF(p={p_targets[0]:g})"] = metrics.act_dcf(s, is_target, p_targets[0])
    out["Cllr"] = metrics.cllr(s, is_target)
    out.update(n_target=int(is_target.sum()), n_nontarget=int((~is_target).sum()))
    return out


def trials_name(path: str) -> str:
    """`data/cnceleb_eval/trials` -> `cnceleb_eval`; any other file name is used as is."""
    base = os.path.basename(path)
    return os.path.basename(os.path.dirname(os.path.abspath(path))) if base == "trials" else base


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("compute_metrics", __doc__)
    ap.add_argument("--trials", required=True, help="`enroll test target|nontarget` lines")
    ap.add_argument("--scores", required=True, help="`enroll test score` lines")
    ap.add_argument("--p-target", type=float, nargs="+", default=list(metrics.P_TARGETS))
    add_bool(ap, "--json", False, "print one JSON object instead of text")
    ap.add_argument("--results", default=None, help="append a row to this results.tsv")
    ap.add_argument("--system", default=None, help="results.tsv: system name (the config's stem)")
    ap.add_argument("--backend", default=None, help="results.tsv: back-end, e.g. cosine or lda200-plda")
    ap.add_argument("--norm", default="none", help="results.tsv: score normalisation (default none)")
    ap.add_argument("--trials-name", default=None, help="results.tsv: trial list name (default from path)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)
    if args.results and not (args.system and args.backend):
        ap.error("--results needs --system and --backend")

    def body() -> int:
        refuse_overwrite({"--results": args.results}, {"--trials": args.trials, "--scores": args.scores})
        res = compute(args.trials, args.scores, args.p_target)
        if args.json:
            print(json.dumps(res))
        else:
            dcfs = " ".join(f"{k}={v:.4f}" for k, v in res.items() if k.startswith(("minDCF", "actDCF")))
            print(f"EER={res['eer']:.3f}% {dcfs} Cllr={res['Cllr']:.4f}")
        if args.results:
            need = {"minDCF@0.01": "minDCF(p=0.01)", "minDCF@0.001": "minDCF(p=0.001)"}
            row = {"eer": res["eer"], "Cllr": res["Cllr"], "actDCF": res[f"actDCF(p={args.p_target[0]:g})"]}
            for col, key in need.items():
                if key not in res:
                    raise AsvError(f"--results needs --p-target to include {key[8:-1]}")
                row[col] = res[key]
            append_result(args.results, args.system, args.backend, args.norm,
                          args.trials_name or trials_name(args.trials), row,
                          res["n_target"] + res["n_nontarget"])
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
