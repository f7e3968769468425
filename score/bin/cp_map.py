"""C-P map (CNSRC 2022): EER or minDCF over K x K (target group, nontarget group) trial configs,
hard to easy; with --scores-b, the difference map A - B.

Usage: python -m score.bin.cp_map [options] --trials <trials> --scores <a> [--scores-b <b>] --out <png>
 e.g.: python -m score.bin.cp_map --trials data/eval/trials --scores exp/a/scores/eval.plda \\
           --scores-b exp/b/scores/eval.plda --k 10 --metric mindcf --out cp.png --tsv cp.tsv

--group-by a (default): the groups are the quantiles of system A's scores, so each cell holds the
same trials for both systems; each: every system is cut by its own score quantiles.
"""
from __future__ import annotations

import logging
import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.io import atomic_write
from score.cpmap import CP_METRICS, cp_map, to_tsv
from score.plots import plot_cp_map
from score.trials import join_scores, read_trials

log = logging.getLogger("cp_map")


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("cp_map", __doc__)
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True, help="system A")
    ap.add_argument("--scores-b", help="system B: draw A - B")
    ap.add_argument("--k", type=int, default=10, help="groups per axis")
    ap.add_argument("--metric", choices=sorted(CP_METRICS), default="eer")
    ap.add_argument("--group-by", choices=["a", "each"], default="a")
    ap.add_argument("--title")
    ap.add_argument("--out", required=True, help="PNG file")
    ap.add_argument("--tsv", help="also write the map values (tar_group non_group value)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out, "--tsv": args.tsv},
                         {"--trials": args.trials, "--scores": args.scores, "--scores-b": args.scores_b})
        e, t, y = read_trials(args.trials)
        a = join_scores(e, t, args.scores)
        m = cp_map(a, y, args.k, args.metric)
        if args.scores_b:
            b = join_scores(e, t, args.scores_b)
            m = m - cp_map(b, y, args.k, args.metric, groups_from=a if args.group_by == "a" else None)
        plot_cp_map(m, args.out, args.metric, args.title, diff=bool(args.scores_b))
        if args.tsv:
            with atomic_write(args.tsv) as f:
                f.write(to_tsv(m, args.metric + ("_diff" if args.scores_b else "")))
        log.info("wrote %s", args.out)
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
