"""Error-rate curves and the equal error rate, numpy only, sort-based.

Here rather than in score.metrics because the front end needs the EER too (a countermeasure's dev-set model
selection runs inside training) and `pytorch/` may not import `score/`; score.metrics re-exports these.

Conventions: `scores` are higher-is-more-target; `is_target` is a boolean array. The EER is a fraction
(multiply by 100 for %). Tied scores form one threshold step: the operating points are only evaluated
between distinct scores.
"""
from __future__ import annotations

import numpy as np


def check_trials(scores: np.ndarray, is_target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores as float64, labels as bool), both flat; ValueError on a length mismatch, a missing class or a
    non-finite score."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    t = np.asarray(is_target, dtype=bool).ravel()
    if s.shape != t.shape:
        raise ValueError(f"scores ({s.size}) and labels ({t.size}) differ in length")
    if not t.any() or t.all():
        raise ValueError("need at least one target and one nontarget trial")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    return s, t


def error_rates(scores: np.ndarray, is_target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_miss, p_fa, thresholds) at every distinct threshold, from 'accept all' to 'reject all'.

    Threshold k accepts scores >= thresholds[k]; the last point (thresholds=+inf) rejects all.
    """
    s, t = check_trials(scores, is_target)
    order = np.argsort(s)  # tie order is irrelevant: ties are grouped below
    s, t = s[order], t[order]
    n_tar, n_non = t.sum(), (~t).sum()
    # Cumulative counts of trials strictly below each distinct score value = rejected by that threshold.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]  # last index of each tie group
    tar_below = np.r_[0, np.cumsum(t)[last]]
    non_below = np.r_[0, np.cumsum(~t)[last]]
    p_miss = tar_below / n_tar
    p_fa = 1.0 - non_below / n_non
    thr = np.r_[s[np.r_[0, last[:-1] + 1]], np.inf]
    return p_miss, p_fa, thr


def eer(scores: np.ndarray, is_target: np.ndarray) -> float:
    """Equal error rate (fraction); see eer_from_rates."""
    p_miss, p_fa, _ = error_rates(scores, is_target)
    return eer_from_rates(p_miss, p_fa)


def eer_from_rates(p_miss: np.ndarray, p_fa: np.ndarray) -> float:
    """Where the step curves of P_miss (rising) and P_fa (falling) cross: linear interpolation
    between the last step with P_miss < P_fa and the first with P_miss >= P_fa."""
    k = int(np.argmax(p_miss >= p_fa))  # first step where misses catch up with false alarms
    if k == 0:
        return float((p_miss[0] + p_fa[0]) / 2)
    m0, f0, m1, f1 = p_miss[k - 1], p_fa[k - 1], p_miss[k], p_fa[k]
    denom = (m1 - m0) - (f1 - f0)
    a = (f0 - m0) / denom if denom != 0 else 0.0
    return float(m0 + a * (m1 - m0))
