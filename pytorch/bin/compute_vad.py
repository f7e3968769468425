"""Energy VAD decisions from features whose column 0 is log energy (Kaldi's compute-vad).

Usage: python -m pytorch.bin.compute_vad [options] <feats-scp> <ark> <scp>
 e.g.: python -m pytorch.bin.compute_vad --config conf/vad.yaml data/train/split4/1/feats.scp \\
           vad/vad_train.1.ark vad/vad_train.1.scp

Writes one float vector of 0/1 per utterance. Outputs appear only when every utterance succeeded.
Only column 0 is kept, read BLOCK_ROWS rows at a time (pytorch.data.featreader), so a long recording's
matrix is never held whole.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys

import numpy as np
import torch

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.io import read_kv
from pytorch.data.featreader import FeatReader
from pytorch.features import compute_vad, load_vad_config
from pytorch.features.ark import ark_scp_writer

PROG = "compute_vad"
log = logging.getLogger(PROG)


BLOCK_ROWS = 1 << 14   # 5 MB of 80-dim float32 at a time (decoding takes a few times that)


def _energy(reader: FeatReader, utt: str) -> np.ndarray:
    """Column 0 [T, 1] of `utt`'s matrix."""
    info = reader.info(utt)
    if info.kind is None:   # kaldiio-only entries (pipes, text) are read whole anyway: once, not per block
        return reader.read(utt, 0, None, info)[:, :1]
    # copy(): a view would keep each whole block alive until the end
    return np.concatenate([reader.read(utt, a, min(BLOCK_ROWS, info.rows - a), info)[:, :1].copy()
                           for a in range(0, info.rows, BLOCK_ROWS)])


def run(args: argparse.Namespace) -> None:
    refuse_overwrite({"<ark>": args.ark, "<scp>": args.scp}, {"<feats-scp>": args.feats_scp})
    n_utt = n_frames = n_voiced = 0
    opts = load_vad_config(args.config) if args.config else {}
    reader = FeatReader(read_kv(args.feats_scp), args.feats_scp)
    with ark_scp_writer(args.ark, args.scp) as write, contextlib.closing(reader):
        for utt in reader.scp:
            voiced = compute_vad(torch.from_numpy(_energy(reader, utt)), **opts)
            if voiced.numel() == 0:
                log.warning("utterance %s: empty feature matrix", utt)
            write(utt, voiced.numpy().astype(np.float32))
            n_utt, n_frames = n_utt + 1, n_frames + voiced.numel()
            n_voiced += int(voiced.sum())
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
