"""The MIRNet paper's verification protocol on two-speaker mixtures, and a 2-D view of the embeddings.

Each mixture has K embeddings (MIRNet: K = 2, one per talker, in no fixed order; a single-speaker
model: K = 1), stored concatenated as one [K*D] row (pytorch/data/extraction.py). A trial pairs an
anchor mixture A+B with a positive A'+C (target) or a negative C'+D (nontarget); its distance is
    d = min over i, j of || I_i(anchor) - I_j(other) ||
and its score is -d, so that the usual metrics (score.metrics: EER over the d_p / d_n pairs) apply.
With `length_norm` each embedding is scaled to unit length first (then d ranks as cosine would).
"""
from __future__ import annotations

import itertools

import numpy as np

from common.errors import FormatError

BLOCK = 16384           # trials per block: memory stays bounded by BLOCK x K x K x D


def split_identities(mat: np.ndarray, identities: int, source: str = "embeddings") -> np.ndarray:
    """[N, K*D] rows -> [N, K, D]."""
    mat = np.asarray(mat, dtype=np.float64)
    if identities < 1 or mat.ndim != 2 or mat.shape[1] % identities:
        raise FormatError(f"{source}: {mat.shape[-1]}-dim rows do not split into {identities} embeddings; "
                          "give the number of embeddings per mixture the model makes (--identities)")
    return mat.reshape(mat.shape[0], identities, -1)


def normalise(emb: np.ndarray) -> np.ndarray:
    """Each embedding (last axis) scaled to unit length."""
    return emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)


def min_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a [T, K, D], b [T, K', D] -> [T]: min over i, j of ||a[t, i] - b[t, j]||."""
    out = np.empty(a.shape[0])
    for s in range(0, a.shape[0], BLOCK):
        x, y = a[s:s + BLOCK], b[s:s + BLOCK]
        d2 = (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * np.einsum("tid,tjd->tij", x, y)
        out[s:s + BLOCK] = np.sqrt(np.maximum(d2.reshape(len(x), -1).min(axis=1), 0.0))
    return out


def protocol_scores(emb: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, length_norm: bool = True
                    ) -> np.ndarray:
    """Scores -d of the trials (rows_a[t], rows_b[t]) over emb [N, K, D]."""
    if length_norm:
        emb = normalise(emb)
    return -min_distances(emb[rows_a], emb[rows_b])


def assign_identities(emb: np.ndarray, spks: list[list[str]], iters: int = 10) -> list[list[str]]:
    """The speaker of each embedding, for display: a multi-identity model gives its K embeddings in no
    order, so each mixture takes the assignment of its K speakers closest to the speakers' means,
    re-estimated from the assignments (the first means average every embedding of every mixture
    with that speaker). emb [M, K, D]; spks: the K speakers of each mixture (utt2spks)."""
    m, k, _ = emb.shape
    if any(len(s) != k for s in spks):
        raise ValueError(f"every mixture needs {k} speakers to match its {k} embeddings")
    names = sorted({s for row in spks for s in row})
    index = {s: i for i, s in enumerate(names)}
    lab = np.array([[index[s] for s in row] for row in spks])          # [M, K]
    perms = np.array(list(itertools.permutations(range(k))))           # [P, K]
    src = emb.reshape(m * k, -1)
    # who[m, i, :]: the speakers embedding i of mixture m counts for (all K at first, then one)
    who = np.repeat(lab[:, None, :], k, axis=1)
    assigned = lab
    for _ in range(iters):
        means = np.zeros((len(names), emb.shape[2]))
        counts = np.zeros(len(names))
        for j in range(who.shape[2]):
            np.add.at(means, who[:, :, j].ravel(), src)
            np.add.at(counts, who[:, :, j].ravel(), 1)
        means /= np.maximum(counts, 1)[:, None]
        cost = ((emb[:, None] - means[lab[:, perms]]) ** 2).sum(axis=(-1, -2))   # [M, P]
        new = lab[np.arange(m)[:, None], perms[cost.argmin(axis=1)]]
        if who.shape[2] == 1 and np.array_equal(new, assigned):
            break
        assigned, who = new, new[:, :, None]
    return [[names[i] for i in row] for row in assigned]


def pca_2d(x: np.ndarray) -> np.ndarray:
    """[N, D] -> [N, 2]: the projection on the two leading principal axes."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T
