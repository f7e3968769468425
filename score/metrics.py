"""Verification metrics: EER, minDCF, actDCF, Cllr, minCllr, DET points. numpy only, sort-based.

Conventions: `scores` are higher-is-more-target; `is_target` is a boolean array. EER is returned as a
fraction (multiply by 100 for %). DCF values are normalised by min(p*C_miss, (1-p)*C_fa).
Tied scores form one threshold step: the operating points are only evaluated between distinct scores.
"""
from __future__ import annotations

import numpy as np

P_TARGETS = (0.01, 0.001, 0.05)


def _check(scores: np.ndarray, is_target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    s, t = _check(scores, is_target)
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


def min_dcf(scores: np.ndarray, is_target: np.ndarray, p_target: float = 0.01,
            c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    p_miss, p_fa, _ = error_rates(scores, is_target)
    return min_dcf_from_rates(p_miss, p_fa, p_target, c_miss, c_fa)


def min_dcf_from_rates(p_miss: np.ndarray, p_fa: np.ndarray, p_target: float = 0.01,
                       c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    dcf = c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa
    return float(dcf.min() / min(c_miss * p_target, c_fa * (1 - p_target)))


def summary(scores: np.ndarray, is_target: np.ndarray, p_targets: tuple[float, ...] = P_TARGETS) -> dict:
    """EER (%) and minDCF at each p_target from one sort of the scores."""
    p_miss, p_fa, _ = error_rates(scores, is_target)
    out = {"eer": 100.0 * eer_from_rates(p_miss, p_fa)}
    out.update({f"minDCF(p={p:g})": min_dcf_from_rates(p_miss, p_fa, p) for p in p_targets})
    return out


def act_dcf(scores: np.ndarray, is_target: np.ndarray, p_target: float = 0.01,
            c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """Normalised DCF at the Bayes threshold -log(p*C_miss / ((1-p)*C_fa)), for LLR scores."""
    s, t = _check(scores, is_target)
    thr = -np.log(c_miss * p_target / (c_fa * (1 - p_target)))
    p_miss = np.mean(s[t] < thr)
    p_fa = np.mean(s[~t] >= thr)
    dcf = c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa
    return float(dcf / min(c_miss * p_target, c_fa * (1 - p_target)))


def cllr(scores: np.ndarray, is_target: np.ndarray) -> float:
    """Log-likelihood-ratio cost (bits) of LLR scores (Brümmer & du Preez 2006)."""
    s, t = _check(scores, is_target)
    c_tar = np.mean(np.logaddexp(0.0, -s[t]))
    c_non = np.mean(np.logaddexp(0.0, s[~t]))
    return float((c_tar + c_non) / (2 * np.log(2)))


def pav(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing weighted least-squares fit to y (scipy's C version)."""
    from scipy.optimize import isotonic_regression
    y = np.asarray(y, dtype=np.float64)
    return isotonic_regression(y, weights=None if w is None else np.asarray(w, dtype=np.float64)).x


def min_cllr(scores: np.ndarray, is_target: np.ndarray) -> float:
    """Cllr after the optimal monotone recalibration (PAV), i.e. the discrimination loss alone."""
    s, t = _check(scores, is_target)
    # Within tied scores put targets first (key ~t is False for them): the 1-then-0 run is a violation,
    # so PAV pools every tie group into one value, as ties must be (BOSARIS's pessimistic convention).
    order = np.lexsort((~t, s))
    post = pav(t[order].astype(np.float64))
    n_tar, n_non = t.sum(), (~t).sum()
    eps = 1e-300
    prior_logit = np.log(n_tar / n_non)
    llr = np.log(np.maximum(post, eps)) - np.log(np.maximum(1 - post, eps)) - prior_logit
    return cllr(np.clip(llr, -700, 700), t[order])


def det_curve(scores: np.ndarray, is_target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_miss, p_fa) at every distinct threshold, for DET plots."""
    p_miss, p_fa, _ = error_rates(scores, is_target)
    return p_miss, p_fa
