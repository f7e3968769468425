"""Cosine scoring of trial lists by vectorised matrix work (no Python loop over trials).

A trial list that is dense over the ids it uses (most of the unique-enroll x unique-test grid is trials,
as in CN-Celeb or any enroll x test cross product) is scored by one matmul of the unique rows, in blocks
of enroll rows, and the trials' scores are gathered from it; a sparse list (Vox1-O: 38k trials over a
4.7k x 4.7k grid) by row-wise dot products in blocks. `grid_scores` makes that choice for any pairwise
score (PLDA uses it too). Memory is bounded by the block sizes, not by the trial count.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK = 1 << 18        # trials per block in the row-wise path: bounds the temporaries, not the trial count
GRID_CELLS = 1 << 22   # grid cells per matmul block (16 MiB of float32)
DENSE_RATIO = 8        # the grid path runs when unique enroll x unique test <= DENSE_RATIO x trials
MIN_GROUP = 16         # row_dots groups trials by enroll row when they average at least this many
MULT = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd: multiplicative (Fibonacci) hashing


def l2norm(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def index_ids(ids: np.ndarray, keys: list[str], what: str, path: str) -> np.ndarray:
    """Row of each id in `keys`; an id with no embedding is an error naming it (the first in trial order).

    `ids` may be str (object) or UTF-8 bytes ('S') arrays. 'S' ids are matched as 64-bit words (hash,
    sorted lookup, then an exact comparison of every id), with no string sort or Python loop over trials.
    """
    ids = np.asarray(ids)
    rows = _index_words(ids, keys) if ids.dtype.kind == "S" and len(ids) else None
    if rows is None:
        as_bytes = ids.dtype.kind == "S"
        pos = {(k.encode() if as_bytes else k): i for i, k in enumerate(keys)}
        uniq, inv = np.unique(ids, return_inverse=True)
        rows = np.fromiter((pos.get(u, -1) for u in uniq.tolist()), dtype=np.int64,
                           count=len(uniq))[inv.ravel()]
    if len(rows) and rows.min() < 0:
        bad = ids[np.argmax(rows < 0)]
        bad = bad.decode() if isinstance(bad, bytes) else bad
        raise ValueError(f"{path}: no embedding for {what} id {bad!r}; extract it or fix the trial list")
    return rows


def _index_words(ids: np.ndarray, keys: list[str]) -> np.ndarray | None:
    """index_ids for 'S' ids (-1 where missing), or None when two keys hash alike (then the dict path)."""
    from score.textcols import as_words
    kb = np.array([k.encode() for k in keys] or [b""])
    width = max(ids.dtype.itemsize, kb.dtype.itemsize)
    iw, kw = as_words(ids.astype(f"S{width}", copy=False)), as_words(kb.astype(f"S{width}", copy=False))
    hi, hk = _hash_words(iw), _hash_words(kw)
    order = np.argsort(hk)
    if len(hk) > 1 and (hk[order[1:]] == hk[order[:-1]]).any():
        return None
    # A table of 8x the keys, indexed by the top bits of a multiplicative hash: one gather per id. Ids
    # whose slot another key took (a few percent) are looked up again by binary search in the sorted hashes.
    bits = max(len(keys).bit_length() + 3, 8)
    slot = np.uint64(64 - bits)
    table = np.full(1 << bits, len(keys) - 1, np.int64)
    table[(hk * MULT) >> slot] = np.arange(len(keys))
    rows = table[(hi * MULT) >> slot]
    miss = np.flatnonzero(hk[rows] != hi)
    if len(miss):
        rows[miss] = order[np.minimum(np.searchsorted(hk[order], hi[miss]), len(keys) - 1)]
    ok = kw[rows, 0] == iw[:, 0]  # exact, column by column: a hash match is only a candidate
    for j in range(1, iw.shape[1]):
        ok &= kw[rows, j] == iw[:, j]
    rows[~ok] = -1
    return rows if keys else np.full(len(ids), -1)


def _hash_words(w: np.ndarray) -> np.ndarray:
    h = w[:, 0].copy()
    for j in range(1, w.shape[1]):
        h *= MULT  # wraps modulo 2**64
        h ^= h >> np.uint64(29)
        h += w[:, j]
    return h


def grid_scores(block: Callable[[np.ndarray, np.ndarray], np.ndarray], e_idx: np.ndarray, t_idx: np.ndarray,
                n_enroll: int, n_test: int, cells: int = GRID_CELLS) -> np.ndarray | None:
    """Scores of trials (e_idx[k], t_idx[k]) from `block(enroll_rows, test_rows)` -> [len, len] score
    matrices over the ids the trials use, or None when the trials are too sparse for that to pay.

    The grid is computed `cells` at a time (whole rows of unique test ids per block of unique enroll ids);
    a trial list sorted by enroll id or fitting one block (the usual case) needs no sort."""
    n = len(e_idx)
    ue = np.flatnonzero(np.bincount(e_idx, minlength=n_enroll))
    ut = np.flatnonzero(np.bincount(t_idx, minlength=n_test))
    if n == 0 or len(ue) * len(ut) > DENSE_RATIO * n:
        return None
    e = np.zeros(n_enroll, np.int64)
    e[ue] = np.arange(len(ue))
    e = e[e_idx]
    t = np.zeros(n_test, np.int64)
    t[ut] = np.arange(len(ut))
    t = t[t_idx]
    rows = max(1, cells // len(ut))
    if rows >= len(ue):
        return np.asarray(block(ue, ut)).ravel()[e * len(ut) + t].astype(np.float64, copy=False)
    b = e // rows
    order = None
    if not (b[1:] >= b[:-1]).all():  # group the trials by block; a stable sort of 16-bit keys is a radix sort
        order = np.argsort(b.astype(np.uint16) if b.max() < 1 << 16 else b, kind="stable")
    bounds = np.searchsorted(b if order is None else b[order], np.arange(0, -(-len(ue) // rows) + 1))
    out = np.empty(n, np.float64)
    for k in range(len(bounds) - 1):
        sel = slice(bounds[k], bounds[k + 1]) if order is None else order[bounds[k]:bounds[k + 1]]
        lo = k * rows
        g = np.asarray(block(ue[lo:lo + rows], ut))
        out[sel] = g.ravel()[(e[sel] - lo) * len(ut) + t[sel]]
    return out


def pair_scores(enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    """Dot products of enroll[e_idx[i]] and test[t_idx[i]] (inputs already normalised/transformed)."""
    if enroll.shape[1] != test.shape[1]:
        raise ValueError(f"enroll dim {enroll.shape[1]} != test dim {test.shape[1]}")
    out = grid_scores(lambda re, rt: enroll[re] @ test[rt].T, e_idx, t_idx, len(enroll), len(test))
    return row_dots(enroll, test, e_idx, t_idx) if out is None else out


def row_dots(a: np.ndarray, b: np.ndarray, a_idx: np.ndarray, b_idx: np.ndarray) -> np.ndarray:
    """a[a_idx[k]] . b[b_idx[k]] for a sparse trial list, [N] float64.

    The trials are grouped by row of `a` (one stable sort, skipped when already grouped) and each group is
    one matrix-vector product b[rows] @ a[i]: the a-side is never gathered, and BLAS does the dots, about
    3x faster than a row-wise einsum over both gathers (issue 14). Lists with only a few trials per a-row
    keep the blocked einsum, whose cost does not grow with the number of groups."""
    n = len(a_idx)
    order = None if n < 2 or (a_idx[1:] >= a_idx[:-1]).all() else np.argsort(a_idx, kind="stable")
    ai = a_idx if order is None else a_idx[order]
    starts = np.flatnonzero(ai[1:] != ai[:-1]) + 1 if n else ai
    out = np.empty(n, dtype=np.float64)
    if len(starts) + 1 > n // MIN_GROUP:
        for lo in range(0, n, BLOCK):
            out[lo:lo + BLOCK] = np.einsum("ij,ij->i", a[a_idx[lo:lo + BLOCK]], b[b_idx[lo:lo + BLOCK]])
        return out
    bi = b_idx if order is None else b_idx[order]
    res = out if order is None else np.empty(n, dtype=np.float64)
    bounds = [0, *starts.tolist(), n]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        res[lo:hi] = b[bi[lo:hi]] @ a[ai[lo]]
    if order is not None:
        out[order] = res
    return out


def cosine_scores(enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    return pair_scores(l2norm(enroll), l2norm(test), e_idx, t_idx)
