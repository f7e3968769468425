"""Countermeasure (CM) metrics: CM EER, EER per attack and the ASVspoof 2019 min t-DCF (score/tdcf.py).

Usage: python -m score.bin.cm_metrics [options] --scores <utt score> --utt2attack|--utt2label <file>
 e.g.: python -m score.bin.cm_metrics --scores exp/aasist/scores/la_eval --utt2attack data/spoof_eval/utt2attack \\
           --asv-scores ../shared/data/asvspoof2019_la/asv_scores/ASVspoof2019.LA.asv.eval.gi.trl.scores.txt
       python -m score.bin.cm_metrics --scores exp/cm/scores/spoof_eval --utt2label data/spoof_eval/utt2label \\
           --asv-trials data/sasv_eval/trials --asv-scores exp/ecapa/scores/sasv_eval.cos --json true

--scores: `utt score` lines, higher = more bona fide (pytorch.bin.score_cm's output). --utt2attack
(`utt bonafide|A01..`) adds the EER of bona fide vs each attack; --utt2label (`utt bonafide|spoof`) gives
the overall EER only. Every labelled utterance needs a score and every score a label. EERs are in %.
min t-DCF needs an ASV system's scores: --asv-scores alone is an organisers' file (`<bonafide|Axx>
<target|nontarget|spoof> <score>`, as the official evaluation uses); with --asv-trials it is an
`enroll test score` file joined to that SASV trial list (`enroll test target|nontarget|spoof`).
"""
from __future__ import annotations

import json

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import AsvError, FormatError
from common.io import read_kv
from score.tdcf import BONAFIDE, cm_metrics, read_cm_scores, read_organiser_asv_scores
from score.trials import join_scores, read_sasv_trials


def _sasv_asv_scores(trials: str, scores: str) -> dict:
    e, t, labels = read_sasv_trials(trials)
    s = join_scores(e, t, scores)
    return {k: s[labels == k.encode()] for k in ("target", "nontarget", "spoof")}


def _labels(path: str, kind: str) -> dict[str, str]:
    table = read_kv(path)
    if kind == "utt2label":
        bad = next((u for u, v in table.items() if v not in (BONAFIDE, "spoof")), None)
        if bad is not None:
            raise FormatError(f"{path}: label {table[bad]!r} of {bad} is not bonafide|spoof; "
                              "give an utt2attack file with --utt2attack instead")
    return table


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("cm_metrics", __doc__)
    ap.add_argument("--scores", required=True, help="`utt score` CM scores")
    lab = ap.add_mutually_exclusive_group(required=True)
    lab.add_argument("--utt2attack", help="`utt bonafide|A01..` lines: adds the EER per attack")
    lab.add_argument("--utt2label", help="`utt bonafide|spoof` lines")
    ap.add_argument("--asv-scores", help="ASV scores for the min t-DCF (organisers' file, or see --asv-trials)")
    ap.add_argument("--asv-trials", help="SASV trials: --asv-scores is then an `enroll test score` file on them")
    add_bool(ap, "--json", False, "print one JSON object instead of text")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        if args.asv_trials and not args.asv_scores:
            raise AsvError("--asv-trials needs --asv-scores (the ASV scores of those trials)")
        kind, path = ("utt2attack", args.utt2attack) if args.utt2attack else ("utt2label", args.utt2label)
        asv = None
        if args.asv_scores:
            asv = (_sasv_asv_scores(args.asv_trials, args.asv_scores) if args.asv_trials
                   else read_organiser_asv_scores(args.asv_scores))
        res = cm_metrics(read_cm_scores(args.scores), _labels(path, kind), asv, scores_path=args.scores,
                         labels_path=path)
        if kind == "utt2label":
            del res["eer_per_attack"]
        if args.json:
            print(json.dumps(res))
            return 0
        line = f"CM-EER={res['cm_eer']:.3f}% ({res['n_bonafide']} bonafide, {res['n_spoof']} spoof)"
        if "min_tdcf" in res:
            line += f" min-tDCF={res['min_tdcf']:.4f} (ASV EER {res['asv']['eer']:.3f}%)"
        print(line)
        for attack, v in res.get("eer_per_attack", {}).items():
            print(f"EER[{attack}]={v:.3f}%")
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
