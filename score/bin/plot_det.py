"""DET curves of several systems on one plot (PNG, probit axes, EER points marked).

  python -m score.bin.plot_det --trials T --scores a b c --labels A B C --out det.png
"""
from __future__ import annotations

import argparse
import logging
import sys

from score.bin._backend_io import join_scores, read_trials, run_cli, setup_logging
from score.plots import plot_det

log = logging.getLogger("plot_det")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="plot_det", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True, nargs="+", help="one score file per system")
    ap.add_argument("--labels", nargs="+", help="legend labels (default: the score file names)")
    ap.add_argument("--title")
    ap.add_argument("--out", required=True, help="PNG file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        labels = args.labels or args.scores
        if len(labels) != len(args.scores):
            raise ValueError(f"{len(labels)} --labels for {len(args.scores)} --scores; "
                             "give one label per system")
        e, t, y = read_trials(args.trials)
        systems = [(lab, join_scores(e, t, path), y) for lab, path in zip(labels, args.scores)]
        plot_det(systems, args.out, args.title)
        log.info("wrote %s", args.out)
        return 0

    return run_cli(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
