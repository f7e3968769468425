"""Rank a pool of utterances for each target speaker (speaker retrieval).

    python -m score.bin.retrieve --enroll <spk2utt|scp> [--enroll-scp utt.scp] --pool pool.scp \
        --topk K --out ranking [--block 65536]

--enroll is either an scp of one embedding per target, or a spk2utt file, in which case the target's
query is the mean of its utterances' embeddings from --enroll-scp (--aggregate mean), or each pool
utterance gets the max of its cosine scores against the target's utterances (--aggregate max). The pool
scp is streamed in blocks. Output lines: `target pool_utt rank score`, best first.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common.embeddings import iter_embedding_blocks, load_embeddings
from common.io import atomic_write, read_spk2utt
from score.bin._backend_io import run_cli, setup_logging
from score.cosine import l2norm
from score.retrieval import retrieve


def load_queries(enroll: str, enroll_scp: str | None, aggregate: str = "mean"
                 ) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Target ids, query rows and (for --aggregate max) the target index of each row."""
    if enroll_scp is None:
        spks, q = load_embeddings(enroll)
        return spks, q, None
    keys, x = load_embeddings(enroll_scp)
    pos = {k: i for i, k in enumerate(keys)}
    spks, rows = [], []
    for spk, utts in read_spk2utt(enroll).items():
        missing = [u for u in utts if u not in pos]
        if missing:
            raise ValueError(f"{enroll}: {spk}: no embedding for {missing[0]!r} in {enroll_scp}")
        spks.append(spk)
        rows.append(x[[pos[u] for u in utts]])
    if not spks:
        raise ValueError(f"{enroll}: empty spk2utt")
    if aggregate == "max":
        owner = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        return spks, np.concatenate(rows), owner
    # mean of the L2-normalised utterance embeddings: each enrollment utterance counts equally
    return spks, np.stack([l2norm(r).mean(0) for r in rows]), None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="retrieve", description=__doc__.split("\n")[0])
    ap.add_argument("--enroll", required=True, help="target scp, or spk2utt with --enroll-scp")
    ap.add_argument("--enroll-scp", default=None, help="utterance embeddings for a spk2utt --enroll")
    ap.add_argument("--pool", required=True, help="pool embeddings scp")
    ap.add_argument("--topk", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--block", type=int, default=65536, help="pool rows per matmul (bounds memory)")
    ap.add_argument("--aggregate", choices=("mean", "max"), default="mean",
                    help="spk2utt --enroll: mean embedding per target, or max score over its utterances")
    args = ap.parse_args(argv)
    setup_logging()

    def body() -> int:
        spks, q, owner = load_queries(args.enroll, args.enroll_scp, args.aggregate)
        blocks = iter_embedding_blocks(args.pool, args.block)
        keys, scores = retrieve(q, blocks, args.topk, owner)
        with atomic_write(args.out) as f:
            for spk, ks, ss in zip(spks, keys, scores):
                f.writelines(f"{spk} {k} {r} {s:.6f}\n" for r, (k, s) in enumerate(zip(ks, ss), 1))
        return 0
    return run_cli("retrieve", body)


if __name__ == "__main__":
    sys.exit(main())
