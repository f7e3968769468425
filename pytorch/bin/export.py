"""Export a trained model to TorchScript and/or ONNX, with a parity check against eager PyTorch.

  python -m pytorch.bin.export --exp exp/x [--checkpoint avg] [--formats torchscript,onnx]

Writes exp/x/models/<checkpoint>.ts.pt and/or <checkpoint>.onnx (inputs feats[B, T, F] float32,
output embedding[B, D]; batch and time axes dynamic). A file is written only if its outputs match
eager PyTorch within 1e-4.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.errors import ConfigError, FormatError
from pytorch.export import EXPORTERS, ExportError, export_model

PROG = "export"


def checkpoint_name(checkpoint: str) -> str:
    """`avg`, `models/avg.pt` and `epoch_10.pt` all name a checkpoint by its stem."""
    name = Path(checkpoint).name
    return name[:-3] if name.endswith(".pt") else name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--exp", required=True, help="experiment dir with config.yaml and models/")
    ap.add_argument("--checkpoint", default="avg", help="checkpoint under exp/models (default avg)")
    ap.add_argument("--formats", default="torchscript,onnx",
                    help=f"comma-separated, from: {','.join(EXPORTERS)} (default all)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=f"{PROG}: %(message)s")
    formats = [f for f in args.formats.split(",") if f]
    name = checkpoint_name(args.checkpoint)
    try:
        bad = [f for f in formats if f not in EXPORTERS]
        if bad or not formats:
            raise ConfigError(f"--formats {args.formats!r}: choose from {','.join(EXPORTERS)}")
        if not (Path(args.exp) / "config.yaml").is_file():
            raise FileNotFoundError(f"{args.exp}/config.yaml not found: is --exp a trained experiment dir?")
        from pytorch.training.checkpoint import load_model  # the training engineer's loader
        model = load_model(args.exp, name)
        results = export_model(model, Path(args.exp) / "models", name, formats)
    except (ConfigError, ExportError, FormatError, FileNotFoundError, ImportError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    for fmt, (path, diff) in results.items():
        print(f"{fmt}: {path}  max |diff| to eager {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
