"""Rank a pool of utterances for each target speaker (speaker retrieval), by cosine.

Usage: python -m score.bin.retrieve [options] --enroll <scp> --pool <scp> --top-n <n> --out <ranking>
 e.g.: python -m score.bin.retrieve --enroll exp/x/embeddings/sr_enroll/xvector.scp \\
           --enroll-spk2utt data/sr_enroll/spk2utt --pool exp/x/embeddings/sr_pool/xvector.scp \\
           --top-n 10 --out exp/x/scores/sr.ranking

--enroll holds one embedding per target, or, with --enroll-spk2utt (target -> its utterances), the
utterance-level embeddings of the targets, as in score.bin.score. Then --enroll-mode mean-emb (default)
queries with the mean of a target's L2-normalised utterance embeddings, and max-score gives each pool
utterance the max of its cosine scores against the target's utterances. The pool scp is streamed in
blocks of --block rows (memory is bounded by the block, not the pool). Output lines:
`target pool_utt rank score`, best first, --top-n per target.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.embeddings import iter_embedding_blocks
from common.io import atomic_write, read_spk2utt
from score.bin._scoring_io import load_table
from score.classstats import check_matrix
from score.cosine import l2norm
from score.enroll import group_rows
from score.retrieval import retrieve

ENROLL_MODES = ("mean-emb", "max-score")


def load_queries(enroll: str, spk2utt: str | None, mode: str = "mean-emb"
                 ) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Target ids, query rows and (for max-score) the target index of each row."""
    keys, x = load_table(enroll)
    if spk2utt is None:
        return keys, x, None
    spks, groups = group_rows(read_spk2utt(spk2utt), keys, spk2utt, enroll)
    if mode == "max-score":
        owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        return spks, x[np.concatenate(groups)], owner
    # mean of the L2-normalised utterance embeddings: each enrollment utterance counts equally
    return spks, np.stack([l2norm(x[g]).mean(0) for g in groups]), None


Blocks = Iterator[tuple[list[str], np.ndarray]]


def _checked(blocks: Blocks, path: str) -> Blocks:
    """Pool blocks with a NaN/inf embedding named by its key."""
    for keys, x in blocks:
        if not np.isfinite(x).all():
            check_matrix(x, path, ids=keys)
        yield keys, x


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("retrieve", __doc__)
    ap.add_argument("--enroll", required=True,
                    help="target embeddings scp (utterance-level with --enroll-spk2utt)")
    ap.add_argument("--enroll-spk2utt", default=None, help="target -> its utterances in --enroll")
    ap.add_argument("--enroll-mode", choices=ENROLL_MODES, default="mean-emb",
                    help="with --enroll-spk2utt: mean embedding per target, or max score over its utterances")
    ap.add_argument("--pool", required=True, help="pool embeddings scp")
    ap.add_argument("--top-n", type=int, required=True, help="pool utterances kept per target")
    ap.add_argument("--out", required=True, help="ranking (target pool_utt rank score)")
    ap.add_argument("--block", type=int, default=65536, help="pool rows per matmul (bounds memory)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--enroll": args.enroll, "--pool": args.pool,
                                               "--enroll-spk2utt": args.enroll_spk2utt})
        spks, q, owner = load_queries(args.enroll, args.enroll_spk2utt, args.enroll_mode)
        blocks = _checked(iter_embedding_blocks(args.pool, args.block), args.pool)
        keys, scores = retrieve(q, blocks, args.top_n, owner)
        with atomic_write(args.out) as f:
            for spk, ks, ss in zip(spks, keys, scores):
                f.writelines(f"{spk} {k} {r} {s:.6f}\n" for r, (k, s) in enumerate(zip(ks, ss), 1))
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
