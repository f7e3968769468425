"""Average the last N epoch checkpoints of an experiment into models/avg.pt.

    python -m pytorch.bin.average --exp exp/x [--last N] [--out exp/x/models/avg.pt]

N defaults to train.average_last of exp/x/config.yaml. Weights and BatchNorm running statistics
are averaged; BatchNorm's num_batches_tracked counter is taken from the last checkpoint.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.errors import ConfigError
from pytorch.config import load_config
from pytorch.training.checkpoint import CheckpointError, average_last

PROG = "average"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--exp", required=True, help="experiment dir with models/epoch_N.pt")
    ap.add_argument("--last", type=int, default=None, help="how many of the last epochs (default: "
                    "train.average_last of the exp's config)")
    ap.add_argument("--out", default=None, help="output file (default <exp>/models/avg.pt)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    try:
        last = args.last
        if last is None:
            cfg = load_config(Path(args.exp) / "config.yaml")
            last = int((cfg.get("train") or {}).get("average_last", 0))
            if last < 1:
                raise ConfigError(f"{args.exp}/config.yaml: train.average_last is not set; pass --last N")
        average_last(args.exp, last, args.out)
    except (ConfigError, CheckpointError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
