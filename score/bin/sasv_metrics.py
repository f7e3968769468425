"""SASV-EER, SV-EER and SPF-EER of a score file on an SASV trial list (SASV 2022), and per-attack SPF-EER.

Usage: python -m score.bin.sasv_metrics [options] --trials <sasv-trials> --scores <score-file>
 e.g.: python -m score.bin.sasv_metrics --trials data/sasv_eval/trials --scores exp/sasv/scores/eval.b1 \\
           --utt2attack data/spoof_eval/utt2attack --json true

Trials are `enroll_spk test_utt target|nontarget|spoof`; scores are `enroll test score`, joined by the pair
(a trial without a score, a score without a trial, or a repeated pair is an error naming the line).
SASV-EER: target vs nontarget+spoof; SV-EER: target vs nontarget; SPF-EER: target vs spoof, all in %.
With --utt2attack (`utt bonafide|A01..`, e.g. the spoof data dir's), SPF-EER per attack of the spoof trials.
"""
from __future__ import annotations

import json

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.io import read_kv
from score.sasv import sasv_metrics


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}%"


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("sasv_metrics", __doc__)
    ap.add_argument("--trials", required=True, help="`enroll_spk test_utt target|nontarget|spoof` lines")
    ap.add_argument("--scores", required=True, help="`enroll test score` lines")
    ap.add_argument("--utt2attack", default=None, help="`utt attack` lines: adds the per-attack SPF-EER")
    add_bool(ap, "--json", False, "print one JSON object instead of text")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        u2a = read_kv(args.utt2attack) if args.utt2attack else None
        res = sasv_metrics(args.trials, args.scores, u2a, args.utt2attack or "")
        if args.json:
            print(json.dumps(res))
            return 0
        print(f"SASV-EER={_pct(res['sasv_eer'])} SV-EER={_pct(res['sv_eer'])} SPF-EER={_pct(res['spf_eer'])}")
        for attack, v in res.get("spf_eer_per_attack", {}).items():
            print(f"SPF-EER[{attack}]={_pct(v)}")
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
