"""Verification metrics: EER, minDCF, actDCF, Cllr, minCllr, DET points. numpy only, sort-based.

Conventions: `scores` are higher-is-more-target; `is_target` is a boolean array. EER is returned as a
fraction (multiply by 100 for %). DCF values are normalised by min(p*C_miss, (1-p)*C_fa).
Tied scores form one threshold step: the operating points are only evaluated between distinct scores.
"""
from __future__ import annotations

import numpy as np

# The EER and the error-rate curve live in common/ (the front end's model selection needs them too);
# they are part of this module's API.
from common.eer import check_trials, eer, eer_from_rates, error_rates

__all__ = ["P_TARGETS", "act_dcf", "cllr", "det_curve", "eer", "eer_from_rates", "error_rates", "min_cllr",
           "min_dcf", "min_dcf_from_rates", "pav", "summary"]

P_TARGETS = (0.01, 0.001, 0.05)


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
    s, t = check_trials(scores, is_target)
    thr = -np.log(c_miss * p_target / (c_fa * (1 - p_target)))
    p_miss = np.mean(s[t] < thr)
    p_fa = np.mean(s[~t] >= thr)
    dcf = c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa
    return float(dcf / min(c_miss * p_target, c_fa * (1 - p_target)))


def cllr(scores: np.ndarray, is_target: np.ndarray) -> float:
    """Log-likelihood-ratio cost (bits) of LLR scores (Brümmer & du Preez 2006)."""
    s, t = check_trials(scores, is_target)
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
    s, t = check_trials(scores, is_target)
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
