"""C-P map (CNSRC 2022 analysis): a metric over K x K "trial configs" from hard to easy.

Target trials are sorted by score ascending and cut into K equal-count groups (group 0: the
lowest-scoring, hardest targets); nontarget trials are sorted descending and cut likewise (group
0: the highest-scoring, hardest nontargets). Config (i, j) is target group i with nontarget group
j, and the map holds EER or minDCF on each config's trials.

To compare two systems, the groups can be taken from a reference system's scores (the same trials
in each cell for both systems) or from each system's own scores.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from score import metrics

CP_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "eer": lambda s, y: float(metrics.eer(s, y)),
    "mindcf": lambda s, y: float(metrics.min_dcf(s, y, 0.01)),
}


def quantile_groups(scores: np.ndarray, is_target: np.ndarray, k: int
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Trial indices of the K target groups (hard -> easy) and the K nontarget groups (hard -> easy)."""
    scores = np.asarray(scores, dtype=np.float64)
    is_target = np.asarray(is_target, dtype=bool)
    tar, non = np.flatnonzero(is_target), np.flatnonzero(~is_target)
    if k < 1:
        raise ValueError(f"cp map: k must be >= 1, got {k}")
    if len(tar) < k or len(non) < k:
        raise ValueError(f"cp map: k={k} groups need at least {k} target and {k} nontarget trials "
                         f"(got {len(tar)} and {len(non)})")
    tar = tar[np.argsort(scores[tar], kind="stable")]
    non = non[np.argsort(-scores[non], kind="stable")]
    return np.array_split(tar, k), np.array_split(non, k)


def cp_map(scores: np.ndarray, is_target: np.ndarray, k: int = 10, metric: str = "eer",
           groups_from: np.ndarray | None = None) -> np.ndarray:
    """[K, K] map: rows are target groups, columns nontarget groups, both hard -> easy.

    groups_from: scores (same trials) whose quantiles define the groups; default `scores`.
    """
    if metric not in CP_METRICS:
        raise ValueError(f"cp map: unknown metric {metric!r}; choose one of: {', '.join(CP_METRICS)}")
    scores = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(scores).all():
        raise ValueError("cp map: scores contain NaN or inf")
    ref = scores if groups_from is None else np.asarray(groups_from, dtype=np.float64)
    if ref.shape != scores.shape:
        raise ValueError(f"cp map: reference scores have {ref.shape} entries, scores {scores.shape}")
    tar_groups, non_groups = quantile_groups(ref, is_target, k)
    fn = CP_METRICS[metric]
    out = np.empty((k, k))
    for i, tg in enumerate(tar_groups):  # K^2 small metric calls; each sorts only its own trials
        for j, ng in enumerate(non_groups):
            s = np.concatenate([scores[tg], scores[ng]])
            y = np.concatenate([np.ones(len(tg), bool), np.zeros(len(ng), bool)])
            out[i, j] = fn(s, y)
    return out


def to_tsv(m: np.ndarray, metric: str) -> str:
    lines = [f"tar_group\tnon_group\t{metric}"]
    lines += [f"{i}\t{j}\t{m[i, j]:.6g}" for i in range(m.shape[0]) for j in range(m.shape[1])]
    return "\n".join(lines) + "\n"
