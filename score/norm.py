"""Score normalisation: S-Norm (whole cohort) and AS-Norm (top-N cohort), Matejka et al. 2017.

Cohort statistics of each enroll and each test embedding are computed once (blocked matmul against
the cohort, then np.partition for the top N), then broadcast over the trials:
    s' = ((s - mu_e) / sd_e + (s - mu_t) / sd_t) / 2
Standard deviations are population (ddof=0) over the N selected cohort scores.
"""
from __future__ import annotations

import numpy as np

from score.cosine import l2norm


def cohort_stats(x: np.ndarray, cohort: np.ndarray, top_n: int | None, block: int = 2048
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each row's cosine scores against the cohort (top_n highest, or all if None)."""
    if len(cohort) == 0:
        raise ValueError("empty cohort: give the training speakers' mean embeddings")
    if top_n is not None and top_n > len(cohort):
        raise ValueError(f"cohort has {len(cohort)} speakers, fewer than --top-n {top_n}; lower --top-n")
    if x.shape[1] != cohort.shape[1]:
        raise ValueError(f"embedding dim {x.shape[1]} != cohort dim {cohort.shape[1]}")
    x, c = l2norm(x), l2norm(cohort)
    mu = np.empty(len(x))
    sd = np.empty(len(x))
    for lo in range(0, len(x), block):
        s = x[lo:lo + block] @ c.T
        if top_n is not None and top_n < s.shape[1]:
            s = np.partition(s, s.shape[1] - top_n, axis=1)[:, -top_n:]
        s = s.astype(np.float64)
        mu[lo:lo + block] = s.mean(1)
        sd[lo:lo + block] = np.maximum(s.std(1), 1e-8)
    return mu, sd


def normalize(scores: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray,
              enroll_stats: tuple[np.ndarray, np.ndarray], test_stats: tuple[np.ndarray, np.ndarray]
              ) -> np.ndarray:
    (mu_e, sd_e), (mu_t, sd_t) = enroll_stats, test_stats
    return 0.5 * ((scores - mu_e[e_idx]) / sd_e[e_idx] + (scores - mu_t[t_idx]) / sd_t[t_idx])


def score_norm(method: str, scores: np.ndarray, enroll: np.ndarray, test: np.ndarray,
               e_idx: np.ndarray, t_idx: np.ndarray, cohort: np.ndarray, top_n: int = 300) -> np.ndarray:
    """`snorm` uses the whole cohort; `asnorm` the top_n most similar cohort speakers per side."""
    n = {"snorm": None, "asnorm": top_n}[method]
    return normalize(scores, e_idx, t_idx, cohort_stats(enroll, cohort, n), cohort_stats(test, cohort, n))
