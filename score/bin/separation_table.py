"""Render the separation results as one Markdown table: per separator, SDRi, PESQi and the target speaker's
verification EER after separation, beside the EER on the unprocessed mixtures.

Usage: python -m score.bin.separation_table [options] --summary <summary.tsv> --results <results.tsv>
 e.g.: python -m score.bin.separation_table --summary exp/separation/summary.tsv \\
           --results exp/separation/results.tsv --unprocessed unprocessed > exp/SEPARATION.md

--summary is what score.bin.separation_metrics --summary appends (the last row of a system wins);
--results a results.tsv (score.bin.compute_metrics --results) with one row per separator (system = the
summary's system) and one row for the unprocessed mixtures (system = --unprocessed).
"""
from __future__ import annotations

import sys

from common.cli import make_parser, run_main, setup_logging
from common.errors import FormatError
from common.io import read_table
from score.results import read_results


def render(summary: str, results: str, unprocessed: str, title: str) -> str:
    rows = read_table(summary, 8, 8)
    if not rows or rows[0][:3] != ["system", "mixtures", "sdr_mix"]:
        raise FormatError(f"{summary}:1: not a separation summary; write it with score.bin.separation_metrics "
                          "--summary")
    head = rows[0]
    latest = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    eer = {r["system"]: r["eer"] for r in read_results(results)}
    if unprocessed not in eer:
        raise FormatError(f"{results}: no row of system {unprocessed!r} (the unprocessed mixtures)")
    out = [f"# {title}\n"] if title else []
    out += ["| separator | mixtures | SDR mix (dB) | SDRi (dB) | PESQ mix | PESQi | EER after | EER unprocessed |",
            "|---|---|---|---|---|---|---|---|"]
    for sys_, r in latest.items():
        out.append(f"| {sys_} | {r['mixtures']} | {r['sdr_mix']} | {r['sdri']} | {r['pesq_mix']} | {r['pesqi']} "
                   f"| {eer.get(sys_, 'n/a')}% | {eer[unprocessed]}% |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("separation_table", __doc__)
    ap.add_argument("--summary", required=True, help="separation summary TSV")
    ap.add_argument("--results", required=True, help="results.tsv with the verification EERs")
    ap.add_argument("--unprocessed", default="unprocessed", help="system name of the unprocessed mixtures' row")
    ap.add_argument("--title", default="Speaker-conditioned separation", help="heading ('' for none)")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)

    def body() -> None:
        sys.stdout.write(render(args.summary, args.results, args.unprocessed, args.title))
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
