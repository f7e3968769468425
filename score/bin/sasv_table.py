"""Render SASV results as Markdown: one row per system with DEV and EVAL SASV/SV/SPF-EER, and a CM table.

Usage: python -m score.bin.sasv_table [options] --dev-trials <trials> --eval-trials <trials> \\
           --system <name>=<dev-scores>,<eval-scores> ... [--cm <name>=<dev.json>,<eval.json> ...] > <RESULTS.md>
 e.g.: python -m score.bin.sasv_table --title "egs/sasv" --dev-trials data/sasv_dev/trials \\
           --eval-trials data/sasv_eval/trials --system "ecapa ASV only=exp/x/dev.asv,exp/x/eval.asv" \\
           --cm "aasist=exp/aasist/cm_dev.json,exp/aasist/cm_eval.json"

Score files are `enroll test score` lines on the trial lists (score.bin.sasv_metrics computes the same
EERs); --cm takes score.bin.cm_metrics --json outputs (CM EER, min t-DCF when it had ASV scores, and the
EER per attack). Rows keep the order of the options. EERs are in %.
"""
from __future__ import annotations

import json
import sys

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import AsvError
from score.sasv import sasv_metrics


def _spec(value: str, opt: str) -> tuple[str, str, str]:
    name, sep, files = value.rpartition("=")
    parts = files.split(",")
    if not sep or not name or len(parts) != 2 or not all(parts):
        raise AsvError(f"{opt} {value!r}: expected <name>=<dev-file>,<eval-file>")
    return name, parts[0], parts[1]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("sasv_table", __doc__)
    ap.add_argument("--dev-trials", required=True, help="dev SASV trials")
    ap.add_argument("--eval-trials", required=True, help="eval SASV trials")
    ap.add_argument("--system", action="append", default=[], metavar="NAME=DEV,EVAL",
                    help="a row: its dev and eval score files (repeatable)")
    ap.add_argument("--cm", action="append", default=[], metavar="NAME=DEV.json,EVAL.json",
                    help="a CM row: cm_metrics --json outputs of dev and eval (repeatable)")
    ap.add_argument("--title", default="SASV results", help="heading above the tables ('' for none)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        if not args.system and not args.cm:
            raise AsvError("nothing to show: give --system and/or --cm rows")
        out = [f"# {args.title}\n"] if args.title else []
        if args.system:
            out += ["| system | DEV SASV-EER | DEV SV-EER | DEV SPF-EER | EVAL SASV-EER | EVAL SV-EER | EVAL SPF-EER |",
                    "|---|---|---|---|---|---|---|"]
            for value in args.system:
                name, dev, ev = _spec(value, "--system")
                cells = []
                for trials, scores in ((args.dev_trials, dev), (args.eval_trials, ev)):
                    m = sasv_metrics(trials, scores)
                    cells += [_pct(m["sasv_eer"]), _pct(m["sv_eer"]), _pct(m["spf_eer"])]
                out.append(f"| {name} | " + " | ".join(cells) + " |")
        if args.cm:
            if args.system:
                out.append("")
            rows, attacks = [], set()
            for value in args.cm:
                name, dev, ev = _spec(value, "--cm")
                res = []
                for path in (dev, ev):
                    with open(path) as f:
                        res.append(json.load(f))
                attacks |= set(res[1].get("eer_per_attack", {}))
                rows.append((name, res))
            cols = sorted(attacks)
            out += ["| CM | DEV CM-EER | DEV min t-DCF | EVAL CM-EER | EVAL min t-DCF |"
                    + "".join(f" EVAL EER {a} |" for a in cols),
                    "|---|---|---|---|---|" + "---|" * len(cols)]
            for name, (d, e) in rows:
                tdcf = [f"{r['min_tdcf']:.4f}" if "min_tdcf" in r else "n/a" for r in (d, e)]
                per = [_pct(e.get("eer_per_attack", {}).get(a)) for a in cols]
                out.append(f"| {name} | {_pct(d['cm_eer'])} | {tdcf[0]} | {_pct(e['cm_eer'])} | {tdcf[1]} |"
                           + "".join(f" {p} |" for p in per))
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
