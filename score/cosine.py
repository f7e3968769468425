"""Cosine scoring of trial lists by vectorised matrix work (no Python loop over trials)."""
from __future__ import annotations

import numpy as np

BLOCK = 1 << 18  # trials per block in the row-wise path: bounds the temporaries, not the trial count
ROWS = 64        # enroll rows per matmul block in the grid path


def l2norm(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def index_ids(ids: np.ndarray, keys: list[str], what: str, path: str) -> np.ndarray:
    """Row of each id in `keys`; an id with no embedding is an error naming it (the first in trial order).

    `ids` may be str (object) or UTF-8 bytes ('S') arrays: only the distinct ids are looked up.
    """
    ids = np.asarray(ids)
    as_bytes = ids.dtype.kind == "S"
    pos = {(k.encode() if as_bytes else k): i for i, k in enumerate(keys)}
    uniq, inv = np.unique(ids, return_inverse=True)
    rows = np.fromiter((pos.get(u, -1) for u in uniq.tolist()), dtype=np.int64, count=len(uniq))[inv.ravel()]
    if len(rows) and rows.min() < 0:
        bad = ids[np.argmax(rows < 0)]
        bad = bad.decode() if isinstance(bad, bytes) else bad
        raise ValueError(f"{path}: no embedding for {what} id {bad!r}; extract it or fix the trial list")
    return rows


def pair_scores(enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    """Dot products of enroll[e_idx[i]] and test[t_idx[i]] (inputs already normalised/transformed).

    When trials cover a large part of the enroll x test grid (the usual case), one matmul per block of
    enroll rows and a gather is much faster than a row-wise product per trial.
    """
    if enroll.shape[1] != test.shape[1]:
        raise ValueError(f"enroll dim {enroll.shape[1]} != test dim {test.shape[1]}")
    n = len(e_idx)
    out = np.empty(n, dtype=np.float64)
    if enroll.shape[0] * test.shape[0] <= 4 * n:
        order = np.argsort(e_idx, kind="stable")
        starts = np.arange(0, enroll.shape[0], ROWS)
        bounds = np.searchsorted(e_idx[order], np.r_[starts, enroll.shape[0]])
        for b, lo in enumerate(starts):
            sel = order[bounds[b]:bounds[b + 1]]
            if sel.size == 0:
                continue
            grid = enroll[lo:lo + ROWS] @ test.T
            out[sel] = grid[e_idx[sel] - lo, t_idx[sel]]
    else:
        for lo in range(0, n, BLOCK):
            e, t = enroll[e_idx[lo:lo + BLOCK]], test[t_idx[lo:lo + BLOCK]]
            out[lo:lo + BLOCK] = np.einsum("ij,ij->i", e, t)
    return out


def cosine_scores(enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    return pair_scores(l2norm(enroll), l2norm(test), e_idx, t_idx)
