"""Per-class counts, sums and scatter of labelled embeddings, without a Python loop over classes.

Shared by LDA and PLDA. Rows are sorted by class once and summed by segment (np.add.reduceat),
which is much faster than np.add.at for [N, D] data.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.errors import AsvError


@dataclass(frozen=True)
class ClassStats:
    classes: np.ndarray      # [C] label values, sorted
    counts: np.ndarray       # [C] int64, number of rows per class
    means: np.ndarray        # [C, D] float64 class means
    within_scatter: np.ndarray  # [D, D] sum over rows of (x - class mean)(x - class mean)^T
    num_rows: int

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def dim(self) -> int:
        return self.means.shape[1]


def check_matrix(x: np.ndarray, what: str = "embeddings", dim: int | None = None,
                 ids: Sequence[str] | None = None) -> np.ndarray:
    """A finite, non-empty 2-D float64 matrix, or an AsvError saying what is wrong; with `ids` (one per row,
    e.g. the scp keys) a non-finite row is named by its id."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise AsvError(f"{what}: expected a 2-D [N, D] matrix, got shape {x.shape}")
    if x.shape[0] == 0:
        raise AsvError(f"{what}: empty set (0 rows); check the scp/utt2spk you passed")
    if dim is not None and x.shape[1] != dim:
        raise AsvError(f"{what}: dimension mismatch, model expects {dim}-dim input, got {x.shape[1]}-dim; "
                       f"use embeddings from the same extractor/chain the model was trained on")
    x = x.astype(np.float64, copy=False)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        who = f"{ids[bad]!r}" if ids is not None else f"row {bad}"
        raise AsvError(f"{what}: {who} has NaN or inf values; re-extract it or drop it")
    return x


def class_stats(x: np.ndarray, labels: np.ndarray) -> ClassStats:
    """Counts, means and within-class scatter of `x` grouped by `labels` (any sortable values)."""
    x = check_matrix(x)
    labels = np.asarray(labels)
    if labels.shape != (x.shape[0],):
        raise AsvError(f"labels: expected {x.shape[0]} labels (one per row), got shape {labels.shape}")
    classes, inv = np.unique(labels, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=len(classes)).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    # Centre on the global mean first so that X^T X - sum n m m^T does not lose precision.
    mu = x.mean(axis=0)
    xc = x[order] - mu
    sums = np.add.reduceat(xc, starts, axis=0)
    means_c = sums / counts[:, None]
    within = xc.T @ xc - (means_c * counts[:, None]).T @ means_c
    within = 0.5 * (within + within.T)
    return ClassStats(classes=classes, counts=counts, means=means_c + mu,
                      within_scatter=within, num_rows=x.shape[0])


def within_scatter_problem(st: ClassStats) -> tuple[str, int] | None:
    """Why the within-class scatter cannot be inverted (a sentence) and its usable rank, or None when it is
    well conditioned.

    Its rank is at most (samples - speakers): below the dimension, a model that inverts it (LDA, PLDA) puts
    unbounded weight on the directions where the training data happen to have no within-class spread."""
    n, c, d = st.num_rows, st.num_classes, st.dim
    if n < d:
        return f"fewer samples ({n}) than dimensions ({d})", n - c
    if n - c < d:
        return (f"the within-class scatter is singular: {n} samples of {c} speakers leave {n - c} "
                f"within-class degrees of freedom for {d} dimensions"), n - c
    ev = np.linalg.eigvalsh(st.within_scatter)
    rank = int((ev > 1e-10 * max(ev[-1], np.finfo(float).tiny)).sum())
    if rank < d:
        return (f"the within-class scatter is singular (rank {rank} of {d}): duplicated or collinear "
                "embeddings"), rank
    return None
