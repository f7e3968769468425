"""Non-neural baseline embedding: mean and standard deviation of the voiced MFCC frames.

usage: python -m local.baseline.stats_embedding --data <data-dir> --out <out-dir>
 e.g.: python -m local.baseline.stats_embedding --data data/test_mfcc --out exp/baseline_mfcc_stats/embeddings/test

Reads <data>/feats.scp (MFCCs whose C0 is log energy) and <data>/vad.scp when present, drops C0
(it is the recording level), and writes <out>/xvector.{ark,scp}; with <data>/spk2utt it also
writes the speaker means <out>/spk_xvector.{ark,scp} (for multi-utterance enrollment).
"""
from __future__ import annotations

import logging
import os
import sys

import numpy as np

from common.cli import make_parser, run_main, setup_logging
from common.embeddings import write_embeddings
from common.errors import FormatError
from common.io import read_spk2utt

PROG = "stats_embedding"
log = logging.getLogger(PROG)


def stats(feats: np.ndarray, voiced: np.ndarray | None) -> np.ndarray:
    """[2(D-1)] mean and std over the voiced frames (all frames if too few are voiced), C0 dropped."""
    x = feats[:, 1:]
    if voiced is not None and int(voiced.sum()) >= 10:
        x = x[voiced.astype(bool)]
    return np.concatenate([x.mean(0), x.std(0)])


def embed_dir(data: str) -> tuple[list[str], np.ndarray]:
    import kaldiio
    scp = os.path.join(data, "feats.scp")
    if not os.path.isfile(scp):
        raise FileNotFoundError(f"{scp}: no such file; compute features first (utils/make_mfcc.sh {data})")
    vad_path = os.path.join(data, "vad.scp")
    vad = kaldiio.load_scp(vad_path) if os.path.isfile(vad_path) else None
    keys, rows = [], []
    for key, feats in kaldiio.load_scp_sequential(scp):
        v = None
        if vad is not None:
            if key not in vad:
                raise FormatError(f"{vad_path}: no VAD for {key}; rerun utils/compute_vad_decision.sh {data}")
            v = np.asarray(vad[key])
            if len(v) != len(feats):
                raise FormatError(f"{vad_path}: {key} has {len(v)} VAD frames but {len(feats)} feature frames")
        keys.append(key)
        rows.append(stats(np.asarray(feats, dtype=np.float64), v))
    if not rows:
        raise FormatError(f"{scp}: empty")
    return keys, np.stack(rows).astype(np.float32)


def write_dir(data: str, out: str) -> None:
    """<out>/xvector.{ark,scp} of <data>, and the speaker means <out>/spk_xvector.{ark,scp} with a spk2utt."""
    keys, x = embed_dir(data)
    os.makedirs(out, exist_ok=True)
    spk2utt_path = os.path.join(data, "spk2utt")
    if os.path.isfile(spk2utt_path):
        index = {k: i for i, k in enumerate(keys)}
        spk2utt = read_spk2utt(spk2utt_path)
        missing = [u for us in spk2utt.values() for u in us if u not in index]
        if missing:
            raise FormatError(f"{spk2utt_path}: utterance {missing[0]} has no features "
                              f"({len(missing)} in all); run utils/fix_data_dir.sh {data}")
        spks = sorted(spk2utt)
        means = np.stack([x[[index[u] for u in spk2utt[s]]].mean(0) for s in spks])
        write_embeddings(spks, means, os.path.join(out, "spk_xvector.ark"), os.path.join(out, "spk_xvector.scp"))
    write_embeddings(keys, x, os.path.join(out, "xvector.ark"), os.path.join(out, "xvector.scp"))
    log.info("%s: %d embeddings of dim %d", out, len(keys), x.shape[1])


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--data", required=True, help="data dir with feats.scp (and vad.scp)")
    ap.add_argument("--out", required=True, help="output dir for xvector.{ark,scp} (+ spk_xvector)")
    args = ap.parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: write_dir(args.data, args.out))


if __name__ == "__main__":
    sys.exit(main())
