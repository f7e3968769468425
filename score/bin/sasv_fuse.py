"""Fuse ASV and countermeasure (CM) scores into one SASV score per trial (score/sasv.py).

Usage: python -m score.bin.sasv_fuse [options] --method asv|cm|b1|b1v2|calibrated|llr|cascade \\
           --asv-scores <enroll test score> --cm-scores <utt score> --out <fused>
 e.g.: python -m score.bin.sasv_fuse --method b1 --asv-scores exp/ecapa/scores/sasv_eval.cos \\
           --cm-scores exp/aasist/scores/spoof_eval --out exp/sasv/scores/eval.b1
       python -m score.bin.sasv_fuse --method calibrated --dev-trials data/sasv_dev/trials \\
           --dev-asv-scores exp/ecapa/scores/sasv_dev.cos --dev-cm-scores exp/aasist/scores/spoof_dev \\
           --asv-scores exp/ecapa/scores/sasv_eval.cos --cm-scores exp/aasist/scores/spoof_eval \\
           --out exp/sasv/scores/eval.calibrated

Methods: asv (ASV alone), cm (CM alone), b1 (ASV + raw CM score), b1v2 (ASV + sigmoid(CM score)),
calibrated (logistic regression over [ASV, CM] trained on the dev SASV trials, target vs nontarget+spoof),
llr (ASV and CM each calibrated on dev, combined as the LLR of target vs nontarget or spoof, score/sasv.py),
cascade (the CM gates at a threshold, the CM EER threshold of the dev trials' test utterances unless
--cm-threshold is given, then the ASV score decides; a blocked trial ranks below every passed one).
The ASV scores are `enroll test score` lines on the SASV trials; each trial's CM score is the `utt score`
line of its test utterance (pytorch.bin.score_cm's output). The output follows --asv-scores' order and
is read by score.bin.sasv_metrics.
"""
from __future__ import annotations

import logging

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError
from score.logreg import L2_HELP
from score.sasv import FUSION_METHODS, TRAINED, train_sasv_fusion
from score.tdcf import read_cm_scores
from score.trials import join_scores, lookup, read_sasv_trials, read_scores, write_score_file

log = logging.getLogger("sasv_fuse")


def _cm_of(test_ids: np.ndarray, path: str) -> np.ndarray:
    return lookup(read_cm_scores(path), test_ids, path).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("sasv_fuse", __doc__)
    ap.add_argument("--method", required=True, choices=list(FUSION_METHODS))
    ap.add_argument("--asv-scores", required=True, help="`enroll test score` ASV scores of the SASV trials")
    ap.add_argument("--cm-scores", help="`utt score` CM scores of the test utterances (all methods but asv)")
    ap.add_argument("--out", required=True, help="fused `enroll test score` lines")
    ap.add_argument("--dev-trials", help="dev SASV trials `enroll test target|nontarget|spoof` (trained methods)")
    ap.add_argument("--dev-asv-scores", help="ASV scores of the dev SASV trials")
    ap.add_argument("--dev-cm-scores", help="CM scores of the dev test utterances")
    ap.add_argument("--cm-threshold", type=float, help="cascade: pass at CM score >= this instead of the dev EER one")
    ap.add_argument("--p-target", type=float, default=0.5,
                    help="calibrated: prior weight of targets vs nontarget+spoof (0.5 = balanced)")
    ap.add_argument("--l2", type=float, default=0.0, help=L2_HELP)
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        devs = {"--dev-trials": args.dev_trials, "--dev-asv-scores": args.dev_asv_scores,
                "--dev-cm-scores": args.dev_cm_scores}
        refuse_overwrite({"--out": args.out}, {"--asv-scores": args.asv_scores, "--cm-scores": args.cm_scores,
                                              **devs})
        if args.method != "asv" and not args.cm_scores:
            raise AsvError(f"--method {args.method} needs --cm-scores")
        given = [k for k, v in devs.items() if v]
        if given and len(given) != len(devs):
            raise AsvError(f"{', '.join(devs)} go together; missing {', '.join(k for k in devs if k not in given)}")
        if given and args.method not in TRAINED:
            raise AsvError(f"--method {args.method} is not trained; drop {', '.join(devs)}")
        dev = None
        if given and not (args.method == "cascade" and args.cm_threshold is not None):
            e, t, labels = read_sasv_trials(args.dev_trials)
            dev = (join_scores(e, t, args.dev_asv_scores), _cm_of(t, args.dev_cm_scores), labels, t)
        fusion = train_sasv_fusion(args.method, dev, args.p_target, args.l2, args.cm_threshold)
        log.info("fusion %s", fusion)
        e, t, asv = read_scores(args.asv_scores)
        cm = _cm_of(t, args.cm_scores) if args.cm_scores else np.zeros_like(asv)
        write_score_file(args.out, e, t, fusion.apply(asv, cm))
        log.info("wrote %d fused scores to %s", len(asv), args.out)
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
