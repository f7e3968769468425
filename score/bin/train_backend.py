"""Train a back-end chain (e.g. mean,lda:200,lnorm,plda) on training embeddings; optionally adapt its
PLDA to unlabelled in-domain embeddings and write the cohort for S-/AS-Norm.

  python -m score.bin.train_backend --chain 'mean,lda:200,lnorm,plda' --train <scp> --utt2spk <file> \\
      --out <backend-dir> [--adapt-scp <in-domain scp>] [--cohort-out <scp>]

The cohort is the RAW per-speaker mean of the training embeddings (not passed through the chain):
score.bin.score / norm apply the back-end's transforms to the cohort themselves, exactly as they
do to enroll and test, so storing raw means keeps one cohort usable with any chain.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np
import yaml

from common.io import read_kv
from score.bin._backend_io import load_embeddings, run_cli, setup_logging
from score.chain import Chain
from score.classstats import class_stats

log = logging.getLogger("train_backend")


def parse_chain_arg(text: str) -> str | list[str]:
    """'mean,lda:200,plda' or a YAML list '[mean, lda:200, plda]'."""
    if text.strip().startswith("["):
        value = yaml.safe_load(text)
        if not isinstance(value, list):
            raise ValueError(f"--chain {text!r}: expected a YAML list like [mean, lda:200, lnorm, plda]")
        return [str(v) for v in value]
    return text


def write_cohort(path: str, speakers: np.ndarray, means: np.ndarray) -> None:
    """ark + scp; the scp (what readers open) is replaced last: a crash leaves no complete-looking one."""
    import kaldiio
    scp = Path(path)
    ark = scp.with_suffix(".ark")
    scp.parent.mkdir(parents=True, exist_ok=True)
    if scp.exists():
        scp.unlink()
    tmp_scp = scp.with_name(f".{scp.name}.tmp")
    rows = {str(s): m.astype(np.float32) for s, m in zip(speakers, means)}
    kaldiio.save_ark(str(ark), rows, scp=str(tmp_scp))
    os.replace(tmp_scp, scp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="train_backend", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chain", required=True, help="steps, e.g. 'mean,lda:200,lnorm,plda' or '[mean, plda]'")
    ap.add_argument("--train", required=True, nargs="+", help="training embeddings scp(s)")
    ap.add_argument("--utt2spk", required=True, help="utt2spk covering the training utterances")
    ap.add_argument("--out", required=True, help="back-end directory (chain.yaml + one .npz per step)")
    ap.add_argument("--adapt-scp", nargs="+", help="unlabelled in-domain embeddings to adapt the PLDA to")
    ap.add_argument("--within-covar-scale", type=float, default=0.3)
    ap.add_argument("--between-covar-scale", type=float, default=0.7)
    ap.add_argument("--cohort-out", help="write the raw per-speaker mean training embeddings here (scp)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        spec = parse_chain_arg(args.chain)
        keys, x = load_embeddings(args.train)
        utt2spk = read_kv(args.utt2spk)
        missing = [k for k in keys if k not in utt2spk]
        if missing:
            raise KeyError(f"{args.utt2spk}: no speaker for {len(missing)} training utterance(s), e.g. "
                           f"{missing[0]!r}; filter the scp or fix the data dir (utils/fix_data_dir.sh)")
        labels = np.array([utt2spk[k] for k in keys])
        log.info("training %s on %d x %d embeddings of %d speakers", spec, *x.shape,
                 len(set(labels.tolist())))
        chain = Chain.fit(spec, x, labels)
        if args.adapt_scp:
            _, x_in = load_embeddings(args.adapt_scp)
            chain = chain.adapt_plda(x_in, args.within_covar_scale, args.between_covar_scale)
            log.info("adapted the PLDA to %d in-domain embeddings", len(x_in))
        chain.save(args.out)
        log.info("wrote %s to %s", chain.spec, args.out)
        if args.cohort_out:
            st = class_stats(x, labels)
            write_cohort(args.cohort_out, st.classes, st.means)
            log.info("wrote %d cohort speaker means to %s", len(st.classes), args.cohort_out)
        return 0

    return run_cli(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
