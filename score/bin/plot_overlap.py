"""A 2-D PCA plot (PNG) of the embeddings of two-speaker mixtures, coloured by speaker.

Usage: python -m score.bin.plot_overlap [options] --embeddings <xvector.scp> --utt2spks <utt2spks> --out <png>
 e.g.: python -m score.bin.plot_overlap --embeddings exp/mirnet_mini/embeddings/mix_seen/xvector.scp \\
           --utt2spks data/mix_seen/utt2spks --identities 2 --out exp/mirnet_mini/pca_mix_seen.png

With --identities 2 (MIRNet) each mixture gives two points; which speaker each one is, the model
does not say, so each mixture takes the assignment of its two speakers closest to the speakers'
means (score.overlap.assign_identities). With --identities 1 a mixture is one point, drawn in the
colour of its first speaker (utt2spks: `utt spk1 spk2`). The points are length-normalised first.
"""
from __future__ import annotations

import logging
import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from common.io import read_table
from score.bin._scoring_io import load_table
from score.overlap import assign_identities, normalise, pca_2d, split_identities
from score.plots import plot_scatter

PROG = "plot_overlap"
log = logging.getLogger(PROG)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--embeddings", required=True, help="xvector.scp of the mixtures")
    ap.add_argument("--utt2spks", required=True, help="`utt spk1 spk2` lines")
    ap.add_argument("--identities", type=int, default=1, help="embeddings per mixture row (default: 1)")
    ap.add_argument("--max-speakers", type=int, default=20, help="speakers in colour; the rest grey")
    ap.add_argument("--title")
    ap.add_argument("--out", required=True, help="PNG file")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(PROG, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--embeddings": args.embeddings, "--utt2spks": args.utt2spks})
        keys, mat = load_table(args.embeddings)
        emb = normalise(split_identities(mat, args.identities, args.embeddings))
        spks = {r[0]: r[1:] for r in read_table(args.utt2spks, 2)}
        missing = [k for k in keys if k not in spks]
        if missing:
            raise FormatError(f"{args.utt2spks}: no entry for {missing[0]!r} of {args.embeddings}; "
                              "give the utt2spks of the mixtures that were extracted")
        k = args.identities
        rows = [spks[key][:k] if k == 1 else spks[key] for key in keys]
        names = assign_identities(emb, rows)
        points = pca_2d(emb.reshape(len(keys) * k, -1))
        plot_scatter(points, [s for row in names for s in row], args.out, args.title, args.max_speakers)
        log.info("wrote %s (%d points)", args.out, len(points))
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
