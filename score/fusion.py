"""Linear fusion of several systems' scores: mean, weighted sum, or prior-weighted logistic regression.

Every method ends as  fused = scores @ w + b.  `logreg` trains w and b on dev trials (BOSARIS
style, score.logreg), so its output is a calibrated LLR. `mean` and `weighted` fix the direction
of w; when dev trials are given, a linear calibration (scale and offset) is trained on the fused
dev scores so that their output is a calibrated LLR too; without dev trials they are plain sums.
Both logistic regressions take `l2` (default 0: unregularised, as BOSARIS/FoCal; score.logreg).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from common.errors import ConfigError, FormatError
from common.io import atomic_write
from score.logreg import train_logreg


def _fixed(w: np.ndarray, dev: np.ndarray | None, labels: np.ndarray | None,
           p_target: float, l2: float) -> tuple[np.ndarray, float]:
    if dev is None:
        return w, 0.0
    cal = train_logreg((dev @ w)[:, None], labels, p_target, l2)
    return w * cal.weights[0], cal.bias


def _mean(n_sys: int, weights: Sequence[float] | None, dev: np.ndarray | None, labels: np.ndarray | None,
          p_target: float, l2: float) -> tuple[np.ndarray, float]:
    if weights is not None:
        raise ConfigError("fusion method 'mean' takes no weights; use --method weighted")
    return _fixed(np.full(n_sys, 1.0 / n_sys), dev, labels, p_target, l2)


def _weighted(n_sys: int, weights: Sequence[float] | None, dev: np.ndarray | None, labels: np.ndarray | None,
              p_target: float, l2: float) -> tuple[np.ndarray, float]:
    if weights is None or len(weights) != n_sys:
        raise ConfigError(f"fusion method 'weighted' needs {n_sys} weights (one per system), "
                         f"got {0 if weights is None else len(weights)}")
    return _fixed(np.asarray(weights, dtype=np.float64), dev, labels, p_target, l2)


def _logreg(n_sys: int, weights: Sequence[float] | None, dev: np.ndarray | None, labels: np.ndarray | None,
            p_target: float, l2: float) -> tuple[np.ndarray, float]:
    if weights is not None:
        raise ConfigError("fusion method 'logreg' learns its weights; drop --weights")
    if dev is None:
        raise ConfigError("fusion method 'logreg' needs dev trials and dev scores to train on")
    m = train_logreg(dev, labels, p_target, l2)
    return m.weights, m.bias


FUSION_METHODS: dict[str, Callable[..., tuple[np.ndarray, float]]] = {
    "mean": _mean, "weighted": _weighted, "logreg": _logreg,
}


@dataclass
class Fusion:
    method: str
    weights: np.ndarray  # [M]
    bias: float
    calibrated: bool

    @classmethod
    def train(cls, method: str, n_systems: int, weights: Sequence[float] | None = None,
              dev_scores: np.ndarray | None = None, dev_is_target: np.ndarray | None = None,
              p_target: float = 0.01, l2: float = 0.0) -> Fusion:
        """dev_scores [N, M] with dev_is_target [N] (both or neither); `l2` for the logistic
        regressions trained on them (default none)."""
        if method not in FUSION_METHODS:
            raise ConfigError(f"unknown fusion method {method!r}; choose one of: {', '.join(FUSION_METHODS)}")
        if n_systems < 1:
            raise ConfigError("fusion needs at least one system")
        if (dev_scores is None) != (dev_is_target is None):
            raise ConfigError("fusion: dev scores and dev trial labels go together")
        if dev_scores is not None:
            dev_scores = _check(dev_scores, n_systems, "dev")
        w, b = FUSION_METHODS[method](n_systems, weights, dev_scores, dev_is_target, p_target, l2)
        return cls(method=method, weights=np.asarray(w, dtype=np.float64), bias=float(b),
                   calibrated=dev_scores is not None)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        return _check(scores, len(self.weights), "eval") @ self.weights + self.bias

    def save(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            json.dump({"method": self.method, "weights": self.weights.tolist(), "bias": self.bias,
                       "calibrated": self.calibrated}, f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Fusion:
        with open(path) as f:
            try:
                d = json.load(f)
                return cls(method=str(d["method"]), weights=np.asarray(d["weights"], dtype=np.float64),
                           bias=float(d["bias"]), calibrated=bool(d["calibrated"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path}: not a fusion model JSON ({e}); "
                                 "retrain with --save-model") from None


def _check(scores: np.ndarray, n_sys: int, what: str) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != n_sys:
        raise FormatError(f"fusion: {what} scores must be [N, {n_sys}] (one column per system), "
                          f"got {s.shape}")
    if not np.isfinite(s).all():
        raise FormatError(f"fusion: {what} scores contain NaN or inf")
    return s
