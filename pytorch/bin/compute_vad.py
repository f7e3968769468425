"""Energy VAD decisions from features whose column 0 is log energy (Kaldi's compute-vad).

    python -m pytorch.bin.compute_vad --config conf/vad.yaml <feats-scp> <ark> <scp>

Writes one float vector of 0/1 per utterance. Outputs appear only when every utterance succeeded.
"""
from __future__ import annotations

import argparse
import logging
import sys

import kaldiio
import numpy as np
import torch

from common.errors import ConfigError, FormatError
from pytorch.features import compute_vad, load_vad_config
from pytorch.features.ark import ark_scp_writer

logger = logging.getLogger("compute_vad")
PROG = "compute_vad"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="YAML with vad_* options, e.g. conf/vad.yaml")
    ap.add_argument("feats_scp")
    ap.add_argument("ark")
    ap.add_argument("scp")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(levelname)s: %(message)s")
    torch.set_num_threads(1)
    n_utt = n_frames = n_voiced = 0
    try:
        opts = load_vad_config(args.config) if args.config else {}
        with ark_scp_writer(args.ark, args.scp) as write:
            try:
                for utt, feats in kaldiio.load_scp_sequential(args.feats_scp):
                    voiced = compute_vad(torch.from_numpy(np.asarray(feats, dtype=np.float32)), **opts)
                    if voiced.numel() == 0:
                        logger.warning("utterance %s: empty feature matrix", utt)
                    write(utt, voiced.numpy().astype(np.float32))
                    n_utt, n_frames = n_utt + 1, n_frames + voiced.numel()
                    n_voiced += int(voiced.sum())
            except (ValueError, KeyError) as e:
                raise FormatError(f"{args.feats_scp}: cannot read features: {e}") from None
    except (ConfigError, FormatError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    logger.info("%d utterances, %d of %d frames voiced (%.1f%%)", n_utt, n_voiced, n_frames,
                100.0 * n_voiced / max(n_frames, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
