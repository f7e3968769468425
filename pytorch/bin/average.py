"""Average the last N epoch checkpoints of an experiment into models/avg.pt.

Usage: python -m pytorch.bin.average [options] --exp <exp-dir>
 e.g.: python -m pytorch.bin.average --exp exp/ecapa_mini --last 3

N defaults to train.average_last of exp/x/config.yaml; --out defaults to exp/x/models/avg.pt.
Weights and BatchNorm running statistics are averaged; BatchNorm's num_batches_tracked counter is
taken from the last checkpoint.
"""
from __future__ import annotations

import sys
from pathlib import Path

from common.cli import make_parser, run_main, setup_logging
from common.errors import ConfigError
from pytorch.config import load_config
from pytorch.training.checkpoint import average_last

PROG = "average"


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--exp", required=True, help="experiment dir with models/epoch_N.pt")
    ap.add_argument("--last", type=int, default=None, help="how many of the last epochs (default: "
                    "train.average_last of the exp's config)")
    ap.add_argument("--out", default=None, help="output file (default <exp>/models/avg.pt)")
    args = ap.parse_args(argv)
    setup_logging(PROG)

    def body() -> None:
        last = args.last
        if last is None:
            cfg = load_config(Path(args.exp) / "config.yaml")
            last = int((cfg.get("train") or {}).get("average_last", 0))
            if last < 1:
                raise ConfigError(f"{args.exp}/config.yaml: train.average_last is not set; pass --last N")
        average_last(args.exp, last, args.out)
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
