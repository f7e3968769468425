"""Import a WeSpeaker or ASV-Subtools checkpoint as a normal experiment dir.

Usage: python -m pytorch.bin.import_model --from wespeaker|subtools --checkpoint <file> [--config <yaml>] --exp <dir>
 e.g.: python -m pytorch.bin.import_model --from wespeaker --checkpoint voxceleb_resnet34/avg_model.pt \\
           --config voxceleb_resnet34/config.yaml --exp exp/wespeaker_resnet34

Writes <exp>/config.yaml (resolved for this toolkit: model with the options that reproduce the
foreign model, the features it expects, extraction and back-end defaults) and <exp>/models/avg.pt,
so that pytorch.bin.extract, pytorch.bin.export and the back-end stages run on it unchanged.
Keys are renamed through an explicit key map; training-only heads (WeSpeaker projection.*,
Subtools loss.*) are dropped; an unknown key, a missing one or a shape mismatch is an error naming
the key. The checkpoint is loaded with torch.load(weights_only=True).
--config: WeSpeaker's training config.yaml (required for WeSpeaker); ASV-Subtools takes none (the
CNSRC SE-ResNet-34 recipe fixes the architecture).
"""
from __future__ import annotations

import sys
from pathlib import Path

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from pytorch.interchange import IMPORTERS, import_checkpoint, write_experiment

PROG = "import_model"


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--from", dest="toolkit", required=True, choices=sorted(IMPORTERS),
                    help="the toolkit that saved the checkpoint")
    ap.add_argument("--checkpoint", required=True, help="the foreign checkpoint (avg_model.pt, <epoch>.params)")
    ap.add_argument("--config", default=None, help="the foreign training config (WeSpeaker config.yaml)")
    ap.add_argument("--exp", required=True, help="the experiment dir to write (must not hold models/avg.pt)")
    args = ap.parse_args(argv)
    setup_logging(PROG)

    def body() -> None:
        exp = Path(args.exp)
        refuse_overwrite({"--exp models/avg.pt": str(exp / "models" / "avg.pt"),
                          "--exp config.yaml": str(exp / "config.yaml")},
                         {"--checkpoint": args.checkpoint, "--config": args.config})
        cfg, state = import_checkpoint(args.toolkit, args.checkpoint, args.config)
        write_experiment(exp, cfg, state, [f"pytorch.bin.{PROG}", *(sys.argv[1:] if argv is None else argv)])
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
