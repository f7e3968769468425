"""Speaker retrieval (CNSRC 2022 Task 2): rank a pool of utterances for each target, and score the ranking.

Ranking streams the pool in blocks: one [targets x block] cosine matmul per block and a running top-K per
target, so memory is bounded by the block size (plus the K kept candidates), never by the pool size.

AP definition (CNSRC 2022 SR evaluation: AP of each target over its ranked list, mAP = mean over targets):
    AP   = 1/R          * sum_k P(k) rel(k)      (over the whole ranking given)
    AP@K = 1/min(K, R)  * sum_{k<=K} P(k) rel(k)
rel(k) = 1 when the k-th retrieved utterance is the target's, P(k) = precision of the top k, R = number of
the target's utterances in the pool (relevant ones never retrieved add 0). With CNSRC's R = 10, K = 10,
AP@10 is the challenge's top-10 mAP. (Some challenge scripts average P(k) over every k, relevant or not;
that is a different number.)
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from score.cosine import l2norm


def retrieve(queries: np.ndarray, blocks: Iterable[tuple[list[str], np.ndarray]], topk: int,
             owner: np.ndarray | None = None) -> tuple[list[list[str]], np.ndarray]:
    """Top-`topk` pool keys per target by cosine, best first, and their scores [n_targets, K].

    One query row per target, or with `owner` (target index of each row, e.g. one row per enrollment
    utterance) a pool utterance's score for a target is the max over that target's rows.
    Ties are broken by pool order (earlier first), so the result does not depend on the block size.
    """
    if topk < 1:
        raise ValueError(f"topk must be >= 1, got {topk}")
    q = l2norm(queries)
    if len(q) == 0:
        raise ValueError("no targets to retrieve for")
    starts = None
    if owner is not None:
        owner = np.asarray(owner)
        if len(owner) != len(q) or set(np.unique(owner).tolist()) != set(range(int(owner.max()) + 1)):
            raise ValueError("owner must give every query row a target index 0..n_targets-1, none skipped")
        order = np.argsort(owner, kind="stable")
        q, starts = q[order], np.searchsorted(owner[order], np.arange(int(owner.max()) + 1))
    n = len(q) if starts is None else len(starts)
    best_s = np.empty((n, 0), np.float32)
    best_p = np.empty((n, 0), np.int64)  # global pool position: tie-break and key lookup
    kept: dict[int, str] = {}            # keys of the positions currently in some top-K
    seen = 0
    for keys, x in blocks:
        if x.shape[1] != q.shape[1]:
            raise ValueError(f"pool embeddings have dim {x.shape[1]}, queries have {q.shape[1]}; "
                             "use embeddings of the same model")
        x = np.asarray(x, dtype=np.float32)
        # Divide the [n, B] scores by the pool norms rather than normalising a copy of the block.
        cos = (q @ x.T) / np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x)), 1e-12)
        if starts is not None:
            cos = np.maximum.reduceat(cos, starts, axis=0)  # max over each target's rows
        s = np.concatenate([best_s, cos.astype(np.float32, copy=False)], 1)
        p = np.concatenate([best_p, np.broadcast_to(np.arange(seen, seen + len(keys)), (n, len(keys)))], 1)
        best_s, best_p = _topk(s, p, topk)
        kept.update((seen + j, keys[j]) for j in np.unique(best_p[best_p >= seen]) - seen)
        seen += len(keys)
        live = set(np.unique(best_p).tolist())
        kept = {pos: k for pos, k in kept.items() if pos in live}  # keys held stay bounded by n*K
        del keys, x, cos, s, p  # drop this block before the source builds the next one
    if seen == 0:
        raise ValueError("empty pool: no embeddings to rank")
    order = np.lexsort((best_p, -best_s), axis=1)
    best_s, best_p = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_p, order, 1)
    return [[kept[j] for j in row] for row in best_p.tolist()], best_s


def _topk(s: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (score desc, position asc) columns of each row, unordered."""
    if s.shape[1] <= k:
        return s, p
    idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
    ts = np.take_along_axis(s, idx, 1)
    kth = ts.min(1, keepdims=True)
    # argpartition picks arbitrarily among scores equal to the k-th; redo those rare rows exactly.
    clash = (s == kth).sum(1) != (ts == kth).sum(1)
    for r in np.flatnonzero(clash):
        o = np.lexsort((p[r], -s[r]))[:k]
        idx[r] = o
    return np.take_along_axis(s, idx, 1), np.take_along_axis(p, idx, 1)


# ---------------------------------------------------------------- evaluation

def average_precision(rel: np.ndarray, n_relevant: int, k: int | None = None) -> float:
    """AP of one ranked 0/1 relevance list (best first); AP@k with `k` (see the module doc)."""
    rel = np.asarray(rel, dtype=np.float64).ravel()
    if k is not None:
        rel = rel[:k]
    denom = n_relevant if k is None else min(n_relevant, k)
    if denom <= 0:
        return 0.0
    prec = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    return float((prec * rel).sum() / denom)


def evaluate(ranked: dict[str, list[str]], labels: dict[str, str], cutoff: int | None = None,
             tops: tuple[int, ...] = (1, 3, 5, 10)) -> dict:
    """mAP of rankings (target -> pool utts, best first) against labels (pool utt -> speaker).

    Targets with no utterance in the labelled pool have undefined AP: they are left out of the mean and
    listed under `no_relevant`; if no target has any, that is an error.
    """
    if not ranked:
        raise ValueError("empty ranking")
    count: dict[str, int] = {}
    for spk in labels.values():
        count[spk] = count.get(spk, 0) + 1
    per_target, aps, missing = {}, [], []
    for t, utts in ranked.items():
        rel = np.array([labels.get(u) == t for u in utts], dtype=bool)
        r = count.get(t, 0)
        ap = average_precision(rel, r, cutoff)
        per_target[t] = {"ap": ap, "n_relevant": r, **{f"top{n}": int(rel[:n].sum()) for n in tops}}
        if r:
            aps.append(ap)
        else:
            missing.append(t)
    if not aps:
        raise ValueError("no target has any utterance in the labelled pool; check the label file")
    return {"mAP": float(np.mean(aps)), "n_targets": len(aps), "no_relevant": missing,
            "per_target": per_target,
            **{f"mean_top{n}": float(np.mean([v[f"top{n}"] for v in per_target.values()])) for n in tops}}
