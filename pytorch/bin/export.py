"""Export a trained model to TorchScript and/or ONNX, with a parity check against eager PyTorch.

Usage: python -m pytorch.bin.export [options] --exp <exp-dir>
 e.g.: python -m pytorch.bin.export --exp exp/ecapa_mini --checkpoint avg --formats torchscript,onnx

Writes exp/x/models/<checkpoint>.ts.pt and/or <checkpoint>.onnx (inputs feats[B, T, F] float32,
output embedding[B, D]; batch and time axes dynamic). A file is written only if its outputs match
eager PyTorch within 1e-4.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import ConfigError
from pytorch.export import EXPORTERS, export_model
from pytorch.training.checkpoint import load_model

PROG = "export"


def checkpoint_name(checkpoint: str) -> str:
    """`avg`, `models/avg.pt` and `epoch_10.pt` all name a checkpoint by its stem."""
    return Path(checkpoint).name.removesuffix(".pt")


def run(args: argparse.Namespace) -> None:
    formats = [f for f in args.formats.split(",") if f]
    bad = [f for f in formats if f not in EXPORTERS]
    if bad or not formats:
        raise ConfigError(f"--formats {args.formats!r}: choose from {','.join(EXPORTERS)}")
    if not (Path(args.exp) / "config.yaml").is_file():
        raise FileNotFoundError(f"{args.exp}/config.yaml not found: is --exp a trained experiment dir?")
    name = checkpoint_name(args.checkpoint)
    results = export_model(load_model(args.exp, name), Path(args.exp) / "models", name, formats)
    for fmt, (path, diff) in results.items():
        print(f"{fmt}: {path}  max |diff| to eager {diff:.2e}")


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--exp", required=True, help="experiment dir with config.yaml and models/")
    ap.add_argument("--checkpoint", default="avg", help="checkpoint under exp/models (default avg)")
    ap.add_argument("--formats", default="torchscript,onnx",
                    help=f"comma-separated, from: {','.join(EXPORTERS)} (default all)")
    add_bool(ap, "--verbose", False, "debug logging, and the traceback of an error")
    args = ap.parse_args(argv)
    setup_logging(PROG, args.verbose)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
