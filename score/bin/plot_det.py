"""DET curves of several systems on one plot (PNG, probit axes, EER points marked).

Usage: python -m score.bin.plot_det [options] --trials <trials> --scores <a> <b> ... --out <png>
 e.g.: python -m score.bin.plot_det --trials data/test/trials --scores exp/a/scores/test.plda \\
           exp/b/scores/test.plda --labels A B --title "test: PLDA" --out exp/det_plda.png
"""
from __future__ import annotations

import logging
import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import AsvError
from score.plots import plot_det
from score.trials import join_scores, read_trials

log = logging.getLogger("plot_det")


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("plot_det", __doc__)
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True, nargs="+", help="one score file per system")
    ap.add_argument("--labels", nargs="+", help="legend labels (default: the score file names)")
    ap.add_argument("--title")
    ap.add_argument("--out", required=True, help="PNG file")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--trials": args.trials, "--scores": args.scores})
        labels = args.labels or args.scores
        if len(labels) != len(args.scores):
            raise AsvError(f"{len(labels)} --labels for {len(args.scores)} --scores; "
                           "give one label per system")
        e, t, y = read_trials(args.trials)
        systems = [(lab, join_scores(e, t, path), y) for lab, path in zip(labels, args.scores)]
        plot_det(systems, args.out, args.title)
        log.info("wrote %s", args.out)
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
