"""Score calibration to log-likelihood ratios: linear (a*s + b) and quality-aware (QMF).

Both are prior-weighted logistic regressions (score.logreg) trained on a dev trial list. QMF
adds quality measures per trial: log durations of the enroll and test sides and, optionally,
the embedding magnitudes, so that the score's scale and offset can depend on the conditions.
The model is saved as a small JSON file (`feature` names, weights, bias, p_target).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from common.errors import AsvError, ConfigError, FormatError
from common.io import atomic_write
from score.logreg import LinearLogReg, train_logreg
from score.trials import lookup

# Quality measure -> (side whose table it reads, table kind, elementwise map). A registry, so
# adding a measure is one line.
QUALITY_FEATURES: dict[str, tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = {
    "log_dur_enroll": ("enroll", "dur", np.log),
    "log_dur_test": ("test", "dur", np.log),
    "mag_enroll": ("enroll", "mag", np.asarray),
    "mag_test": ("test", "mag", np.asarray),
}


def quality_features(names: Sequence[str], enroll_ids: np.ndarray, test_ids: np.ndarray,
                     tables: Mapping[tuple[str, str], Mapping[str, float]],
                     sources: Mapping[tuple[str, str], str] | None = None) -> np.ndarray:
    """[N, len(names)] quality measures; tables[(side, kind)] maps an id to a duration/magnitude."""
    cols = []
    for name in names:
        if name not in QUALITY_FEATURES:
            raise AsvError(f"unknown quality feature {name!r}; valid: {', '.join(QUALITY_FEATURES)}")
        side, kind, fn = QUALITY_FEATURES[name]
        if (side, kind) not in tables:
            raise AsvError(f"quality feature {name!r} needs the {side} {kind} table")
        ids = enroll_ids if side == "enroll" else test_ids
        src = (sources or {}).get((side, kind), f"{side} {kind} table")
        vals = lookup(tables[(side, kind)], ids, src).astype(np.float64)
        if kind == "dur" and (vals <= 0).any():
            raise FormatError(f"{src}: durations must be > 0 to take their log")
        cols.append(fn(vals))
    return np.stack(cols, axis=1) if cols else np.empty((len(enroll_ids), 0))


@dataclass
class Calibration:
    """llr = w . [score, quality...] + b; `quality` lists the QMF measures (empty for linear)."""
    model: LinearLogReg
    quality: list[str] = field(default_factory=list)

    @classmethod
    def train(cls, scores: np.ndarray, is_target: np.ndarray, p_target: float = 0.01,
              quality: np.ndarray | None = None, quality_names: Sequence[str] = (),
              l2: float = 0.0) -> Calibration:
        """`l2`: L2 penalty on the standardised weights (default none, as BOSARIS; score.logreg)."""
        feats = _stack(scores, quality, quality_names)
        return cls(model=train_logreg(feats, is_target, p_target, l2), quality=list(quality_names))

    def apply(self, scores: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        if self.quality and quality is None:
            raise ConfigError(f"this QMF calibration needs quality measures: {', '.join(self.quality)}")
        return self.model.apply(_stack(scores, quality if self.quality else None, self.quality))

    def to_json(self) -> dict:
        return {"type": "qmf" if self.quality else "linear", "features": ["score", *self.quality],
                "weights": self.model.weights.tolist(), "bias": self.model.bias,
                "p_target": self.model.p_target}

    @classmethod
    def from_json(cls, d: dict, source: str = "calibration model") -> Calibration:
        try:
            feats, w = list(d["features"]), np.asarray(d["weights"], dtype=np.float64)
            model = LinearLogReg(weights=w, bias=float(d["bias"]), p_target=float(d["p_target"]))
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"{source}: malformed calibration model ({e}); "
                             "retrain with --save-model") from None
        if not feats or feats[0] != "score" or len(feats) != len(w):
            raise FormatError(f"{source}: features {feats} do not match {len(w)} weights")
        return cls(model=model, quality=feats[1:])

    def save(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            json.dump(self.to_json(), f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Calibration:
        with open(path) as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as e:
                raise FormatError(f"{path}: not a calibration model JSON ({e})") from None
        return cls.from_json(d, str(path))

    def describe(self) -> str:
        terms = " + ".join(f"{w:.4g}*{n}" for w, n in zip(self.model.weights, ["score", *self.quality]))
        return f"llr = {terms} + {self.model.bias:.4g} (p_target {self.model.p_target:g})"


def _stack(scores: np.ndarray, quality: np.ndarray | None, names: Sequence[str]) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    if not np.isfinite(s).all():
        raise FormatError("scores contain NaN or inf")
    if quality is None:
        return s
    q = np.asarray(quality, dtype=np.float64)
    if q.shape != (len(s), len(names)):
        raise FormatError(f"quality measures: expected shape {(len(s), len(names))}, got {q.shape}")
    if not np.isfinite(q).all():
        raise FormatError("quality measures contain NaN or inf")
    return np.hstack([s, q])

