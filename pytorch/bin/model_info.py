"""Print a model's size: parameter count, embedding dimension and MACs for a 2 s input.

Usage: python -m pytorch.bin.model_info [options] --config <config.yaml>
 e.g.: python -m pytorch.bin.model_info --config conf/ecapa_c512.yaml --frames 200 --set model.channels=1024
"""
from __future__ import annotations

import argparse
import sys

import torch

from common.cli import make_parser, run_main
from common.errors import ConfigError
from pytorch.config import load_config
from pytorch.models import build_model
from pytorch.models.macs import count_macs, count_params

PROG = "model_info"
FRAME_SHIFT_S = 0.01


def run(args: argparse.Namespace) -> None:
    if args.frames < 1:
        raise ConfigError(f"--frames {args.frames}: must be positive")
    cfg = load_config(args.config, args.set)
    if "model" not in cfg:
        raise ConfigError(f"{args.config}: no model: section")
    torch.set_num_threads(1)
    try:
        model = build_model(cfg["model"]).eval()
    except TypeError as e:        # a value of the wrong type reaches the constructor
        raise ConfigError(f"{args.config}: model: {e}") from None
    macs = count_macs(model, torch.zeros(1, args.frames, model.feat_dim))
    n = count_params(model)
    print(f"model:      {cfg['model']['name']}  ({args.config})")
    print(f"parameters: {n:,} ({n / 1e6:.2f}M)")
    print(f"embed_dim:  {model.embed_dim}")
    seconds = args.frames * FRAME_SHIFT_S
    print(f"MACs:       {macs / 1e9:.3f} G for 1 x {args.frames} frames ({seconds:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--config", required=True, help="system YAML with a model: section")
    ap.add_argument("--frames", type=int, default=200,
                    help="input length in 10 ms frames (default 200 = 2 s)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    args = ap.parse_args(argv)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
