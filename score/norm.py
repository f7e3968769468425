"""Score normalisation: S-Norm (whole cohort) and AS-Norm (top-N cohort), Matejka et al. 2017.

Cohort statistics of each enroll and each test embedding are computed once (blocked matmul against
the cohort, then np.partition for the top N), then broadcast over the trials:
    s' = ((s - mu_e) / sd_e + (s - mu_t) / sd_t) / 2
Standard deviations are population (ddof=0) over the N selected cohort scores.
With a PLDA model the cohort scores are PLDA LLRs instead of cosines: each enroll row (a mean of n_enroll
utterances, as in its trials) and each test row against every cohort embedding taken as one utterance.
"""
from __future__ import annotations

import numpy as np

from score.cosine import l2norm
from score.plda import PLDA

CHUNK = 1 << 16  # trials per normalisation step


def cohort_stats(x: np.ndarray, cohort: np.ndarray, top_n: int | None, rows: np.ndarray | None = None,
                 cells: int = 1 << 22, plda: PLDA | None = None, n_x: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each row's scores against the cohort (top_n highest, or all if None).

    Scores are cosines, or with `plda` its LLRs (row i the mean of n_x[i] utterances, default 1; each cohort
    row one). With `rows`, only those rows are computed (the others are NaN): the ids a trial list uses.
    The score matrix is built `cells` at a time, and the top n are selected by np.partition (O(cohort)
    per row).
    """
    if len(cohort) == 0:
        raise ValueError("empty cohort: give the training speakers' mean embeddings")
    if top_n is not None and top_n > len(cohort):
        raise ValueError(f"cohort has {len(cohort)} speakers, fewer than --top-n {top_n}; lower --top-n")
    if x.shape[1] != cohort.shape[1]:
        raise ValueError(f"embedding dim {x.shape[1]} != cohort dim {cohort.shape[1]}")
    if plda is None:
        c = l2norm(cohort)
        def block(r: np.ndarray) -> np.ndarray:
            return l2norm(x[r]) @ c.T
    else:
        n = np.ones(len(x)) if n_x is None else np.asarray(n_x, dtype=np.float64)
        def block(r: np.ndarray) -> np.ndarray:
            return plda.score_matrix(x[r], cohort, n[r])
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    mu = np.full(len(x), np.nan)
    sd = np.full(len(x), np.nan)
    step = max(1, cells // len(cohort))
    for lo in range(0, len(rows), step):
        r = rows[lo:lo + step]
        s = block(r)
        if top_n is not None and top_n < s.shape[1]:
            s = np.partition(s, s.shape[1] - top_n, axis=1)[:, -top_n:]
        s = s.astype(np.float64)
        mu[r] = s.mean(1)
        sd[r] = np.maximum(s.std(1), 1e-8)
    return mu, sd


def normalize(scores: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray,
              enroll_stats: tuple[np.ndarray, np.ndarray], test_stats: tuple[np.ndarray, np.ndarray]
              ) -> np.ndarray:
    (mu_e, sd_e), (mu_t, sd_t) = enroll_stats, test_stats
    out = np.empty(len(scores))
    for lo in range(0, len(scores), CHUNK):  # in chunks, so the temporaries stay in cache
        s, e, t = scores[lo:lo + CHUNK], e_idx[lo:lo + CHUNK], t_idx[lo:lo + CHUNK]
        out[lo:lo + CHUNK] = 0.5 * ((s - mu_e[e]) / sd_e[e] + (s - mu_t[t]) / sd_t[t])
    return out


def score_norm(method: str, scores: np.ndarray, enroll: np.ndarray, test: np.ndarray,
               e_idx: np.ndarray, t_idx: np.ndarray, cohort: np.ndarray, top_n: int = 300,
               plda: PLDA | None = None, n_enroll: np.ndarray | None = None) -> np.ndarray:
    """`snorm` uses the whole cohort; `asnorm` the top_n most similar cohort speakers per side.

    Cohort scores are cosines, or with `plda` PLDA LLRs (enroll row e the mean of n_enroll[e] utterances).
    """
    n = {"snorm": None, "asnorm": top_n}[method]
    used = [np.flatnonzero(np.bincount(i, minlength=len(x))) for i, x in ((e_idx, enroll), (t_idx, test))]
    return normalize(scores, e_idx, t_idx, cohort_stats(enroll, cohort, n, used[0], plda=plda, n_x=n_enroll),
                     cohort_stats(test, cohort, n, used[1], plda=plda))
