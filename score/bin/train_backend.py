"""Train a back-end chain (e.g. mean,lda:200,lnorm,plda) on training embeddings; optionally adapt its
PLDA to unlabelled in-domain embeddings and write the cohort for S-/AS-Norm.

Usage: python -m score.bin.train_backend [options] --chain <steps> --train <scp> --utt2spk <utt2spk> \\
           --out <backend-dir>
 e.g.: python -m score.bin.train_backend --chain 'mean,lda:200,lnorm,plda' \\
           --train exp/x/embeddings/train/xvector.scp --utt2spk data/train/utt2spk \\
           --out exp/x/backend/plda --cohort-out exp/x/backend/cohort.scp

Steps: mean, lnorm, lda:<dim>, whiten[:pca|zca], plda[:<EM iterations>] (last). PLDA refuses a training set
with fewer samples than speakers plus dimensions (its within-class scatter is singular): put an LDA step
before it. The cohort is the RAW per-speaker mean of the training embeddings (not passed through the
chain): score.bin.score / norm apply the back-end's transforms to the cohort themselves, exactly as they
do to enroll and test, so storing raw means keeps one cohort usable with any chain.
"""
from __future__ import annotations

import logging
import sys

import numpy as np
import yaml

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.embeddings import write_embeddings
from common.errors import ConfigError, FormatError
from common.io import read_kv
from score.bin._scoring_io import load_table
from score.chain import Chain
from score.classstats import class_stats

log = logging.getLogger("train_backend")


def parse_chain_arg(text: str) -> str | list[str]:
    """'mean,lda:200,plda' or a YAML list '[mean, lda:200, plda]'."""
    if text.strip().startswith("["):
        value = yaml.safe_load(text)
        if not isinstance(value, list):
            raise ConfigError(f"--chain {text!r}: expected a YAML list like [mean, lda:200, lnorm, plda]")
        return [str(v) for v in value]
    return text


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("train_backend", __doc__)
    ap.add_argument("--chain", required=True, help="steps, e.g. 'mean,lda:200,lnorm,plda' or '[mean, plda]'")
    ap.add_argument("--train", required=True, nargs="+", help="training embeddings scp(s)")
    ap.add_argument("--utt2spk", required=True, help="utt2spk covering the training utterances")
    ap.add_argument("--out", required=True, help="back-end directory (chain.yaml + one .npz per step)")
    ap.add_argument("--adapt-scp", nargs="+", help="unlabelled in-domain embeddings to adapt the PLDA to")
    ap.add_argument("--within-covar-scale", type=float, default=0.3)
    ap.add_argument("--between-covar-scale", type=float, default=0.7)
    ap.add_argument("--cohort-out", help="write the raw per-speaker mean training embeddings here (scp; "
                    "the ark goes next to it)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        cohort_ark = args.cohort_out and str(args.cohort_out).removesuffix(".scp") + ".ark"
        refuse_overwrite({"--cohort-out": args.cohort_out, "--cohort-out (ark)": cohort_ark,
                          "--out": args.out},
                         {"--train": args.train, "--utt2spk": args.utt2spk, "--adapt-scp": args.adapt_scp})
        spec = parse_chain_arg(args.chain)
        keys, x = load_table(args.train)
        utt2spk = read_kv(args.utt2spk)
        missing = [k for k in keys if k not in utt2spk]
        if missing:
            raise FormatError(f"{args.utt2spk}: no speaker for {len(missing)} training utterance(s), e.g. "
                              f"{missing[0]!r}; filter the scp or fix the data dir (utils/fix_data_dir.sh)")
        labels = np.array([utt2spk[k] for k in keys])
        log.info("training %s on %d x %d embeddings of %d speakers", spec, *x.shape,
                 len(set(labels.tolist())))
        chain = Chain.fit(spec, x, labels)
        if args.adapt_scp:
            _, x_in = load_table(args.adapt_scp)
            chain = chain.adapt_plda(x_in, args.within_covar_scale, args.between_covar_scale)
            log.info("adapted the PLDA to %d in-domain embeddings", len(x_in))
        chain.save(args.out)
        log.info("wrote %s to %s", chain.spec, args.out)
        if args.cohort_out:
            st = class_stats(x, labels)
            write_embeddings([str(s) for s in st.classes], st.means, cohort_ark, args.cohort_out)
            log.info("wrote %d cohort speaker means to %s", len(st.classes), args.cohort_out)
        return 0

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
