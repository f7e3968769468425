"""Energy VAD decisions from features whose column 0 is log energy (Kaldi's compute-vad).

Usage: python -m pytorch.bin.compute_vad [options] <feats-scp> <ark> <scp>
 e.g.: python -m pytorch.bin.compute_vad --config conf/vad.yaml data/train/split4/1/feats.scp \\
           vad/vad_train.1.ark vad/vad_train.1.scp

Writes one float vector of 0/1 per utterance. Outputs appear only when every utterance succeeded.
"""
from __future__ import annotations

import argparse
import logging
import sys

import kaldiio
import numpy as np
import torch

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from pytorch.features import compute_vad, load_vad_config
from pytorch.features.ark import ark_scp_writer

PROG = "compute_vad"
log = logging.getLogger(PROG)


def run(args: argparse.Namespace) -> None:
    refuse_overwrite({"<ark>": args.ark, "<scp>": args.scp}, {"<feats-scp>": args.feats_scp})
    n_utt = n_frames = n_voiced = 0
    opts = load_vad_config(args.config) if args.config else {}
    with ark_scp_writer(args.ark, args.scp) as write:
        try:
            for utt, feats in kaldiio.load_scp_sequential(args.feats_scp):
                voiced = compute_vad(torch.from_numpy(np.asarray(feats, dtype=np.float32)), **opts)
                if voiced.numel() == 0:
                    log.warning("utterance %s: empty feature matrix", utt)
                write(utt, voiced.numpy().astype(np.float32))
                n_utt, n_frames = n_utt + 1, n_frames + voiced.numel()
                n_voiced += int(voiced.sum())
        except (ValueError, KeyError) as e:
            raise FormatError(f"{args.feats_scp}: cannot read features: {e}") from None
    log.info("%d utterances, %d of %d frames voiced (%.1f%%)", n_utt, n_voiced, n_frames,
             100.0 * n_voiced / max(n_frames, 1))


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--config", default=None, help="YAML with vad_* options, e.g. conf/vad.yaml")
    ap.add_argument("feats_scp")
    ap.add_argument("ark")
    ap.add_argument("scp")
    args = ap.parse_args(argv)
    setup_logging(PROG)
    torch.set_num_threads(1)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
