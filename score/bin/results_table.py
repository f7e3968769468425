"""Render results.tsv files as one Markdown table (rows system x backend x norm, columns trial lists).

Usage: python -m score.bin.results_table [options] <results.tsv> ... > <RESULTS.md>
 e.g.: python -m score.bin.results_table --title "egs/mini" exp/*/results.tsv > exp/RESULTS.md

Each cell is `EER% / minDCF(p=0.01)` by default (--cell takes a format over the results.tsv columns).
"""
from __future__ import annotations

import sys

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import AsvError
from score.results import COLUMNS, read_results, render_markdown


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("results_table", __doc__)
    ap.add_argument("results", nargs="+", help="results.tsv files")
    ap.add_argument("--cell", default="{eer}% / {minDCF@0.01}",
                    help=f"cell format over the columns {', '.join(COLUMNS)}")
    ap.add_argument("--title", default="Results", help="heading above the table ('' for none)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        rows = [r for p in args.results for r in read_results(p)]
        try:
            table = render_markdown(rows, args.cell)
        except KeyError as e:
            raise AsvError(f"--cell names unknown column {e.args[0]!r}; use {', '.join(COLUMNS)}") from None
        sys.stdout.write((f"# {args.title}\n\n" if args.title else "") + table)
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
