"""Prior-weighted linear logistic regression (BOSARIS `train_binary_classifier` style).

Shared by calibration (1 feature: the score), QMF (score + quality measures) and fusion (one
feature per system). The model is  llr = features @ w + b.  With p = p_target and
o = logit(p), targets get total weight p and non-targets 1 - p:

  C(w, b) = p/N_tar   sum_tar log(1 + exp(-(llr + o)))
          + (1-p)/N_non sum_non log(1 + exp( llr + o))      (divided by log 2: Cllr-like units)

so the minimiser makes `llr` a log-likelihood ratio calibrated for the whole range of
operating points around p. Trained with L-BFGS and the analytic gradient.

No regularisation by default (`l2 = 0`), as BOSARIS and FoCal fit: an L2 penalty
0.5·l2·|w_z|² on the standardised weights w_z shrinks the weights (by about 1% at p = 0.01 with
l2 = 1e-6, this module's default before issue 13), so the LLRs come out slightly under-confident.
On linearly separable training trials the unregularised optimum is at infinity: the fit then
stops where the optimiser does and a warning says so; l2 > 0 gives a finite answer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit, logit

log = logging.getLogger(__name__)

# The CLIs' --l2 help (calibrate, fuse): one wording of the default and when to change it.
L2_HELP = ("L2 penalty on the standardised logistic-regression weights; 0 (default) = none, as "
           "BOSARIS/FoCal (1e-6 was the default before; give it if the dev trials are separable)")


@dataclass
class LinearLogReg:
    weights: np.ndarray   # [F]
    bias: float
    p_target: float

    def apply(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(self.weights):
            raise ValueError(f"logistic model expects [N, {len(self.weights)}] features, "
                             f"got shape {features.shape}")
        return features @ self.weights + self.bias


def _check(features: np.ndarray, is_target: np.ndarray, p_target: float) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(is_target, dtype=bool)
    if f.ndim != 2 or y.shape != (f.shape[0],):
        raise ValueError(f"features [N, F] and labels [N] expected, got {f.shape} and {y.shape}")
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    if y.all() or not y.any():
        raise ValueError("training trials need both target and nontarget trials "
                         f"(got {int(y.sum())} target, {int((~y).sum())} nontarget)")
    if not np.isfinite(f).all():
        raise ValueError("training features contain NaN or inf scores")
    return f, y


def train_logreg(features: np.ndarray, is_target: np.ndarray, p_target: float = 0.5,
                 l2: float = 0.0) -> LinearLogReg:
    """Fit (w, b) minimising the prior-weighted cross-entropy above, plus 0.5·l2·|w_z|² on the
    standardised weights when l2 > 0 (default none, as BOSARIS/FoCal)."""
    f, y = _check(features, is_target, p_target)
    if not l2 >= 0.0:
        raise ValueError(f"l2 must be >= 0 (0 = no regularisation), got {l2}")
    # Standardise so that L-BFGS sees a well-conditioned problem; undone on the way out.
    mu, sd = f.mean(axis=0), f.std(axis=0)
    sd[sd == 0] = 1.0
    z = (f - mu) / sd
    sign = np.where(y, 1.0, -1.0)  # target: loss log(1+exp(-a)), nontarget: log(1+exp(a))
    wt = np.where(y, p_target / y.sum(), (1.0 - p_target) / (~y).sum()) / np.log(2.0)
    offset = logit(p_target)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a = sign * (z @ theta[:-1] + theta[-1] + offset)
        loss = -(wt * log_expit(a)).sum() + 0.5 * l2 * theta[:-1] @ theta[:-1]
        g_a = -wt * sign * expit(-a)  # d loss / d (llr)
        grad = np.concatenate([z.T @ g_a + l2 * theta[:-1], [g_a.sum()]])
        return loss, grad

    theta0 = np.zeros(f.shape[1] + 1)
    import scipy.optimize  # here, not at the top: it costs ~0.5 s of every score CLI that only needs L2_HELP
    res = scipy.optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-14})
    if l2 == 0.0:
        a = sign * (z @ res.x[:-1] + res.x[-1] + offset)
        if (a > 0).all():
            log.warning("the training trials are linearly separable: the unregularised fit has no "
                        "finite optimum and stops where L-BFGS does; give l2 > 0 (e.g. 1e-6)")
    w = res.x[:-1] / sd
    b = res.x[-1] - (mu * w).sum()
    return LinearLogReg(weights=w, bias=float(b), p_target=p_target)
