"""Embedding transforms trained on a training set and applied to enroll and test.

Each transform is a class registered under a short name (`mean`, `lda`, `whiten`, `lnorm`), with
`fit(x, labels=None)`, `transform(x)`, `to_dict()` / `from_dict()` (arrays for an .npz) and
`spec` (the chain token that rebuilds it, e.g. `lda:200`). `score.chain` strings them together.
"""
from __future__ import annotations

from typing import Callable, ClassVar, TypeVar

import numpy as np
import scipy.linalg

from score.classstats import check_matrix, class_stats

TRANSFORMS: dict[str, type["Transform"]] = {}
T = TypeVar("T", bound=type)


def register(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        if name in TRANSFORMS:
            raise ValueError(f"transform {name!r} registered twice")
        cls.name = name
        TRANSFORMS[name] = cls
        return cls
    return deco


class Transform:
    """Base class: subclasses set `needs_labels` and implement the fitting and the mapping."""
    name: ClassVar[str] = ""
    needs_labels: ClassVar[bool] = False

    def __init__(self, arg: str | None = None) -> None:
        if arg is not None:
            raise ValueError(f"chain step {self.name!r} takes no argument, got {self.name}:{arg}")
        self.in_dim: int | None = None

    # -- chain protocol -------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        return self.name

    @classmethod
    def fit_spec(cls, arg: str | None, x: np.ndarray, labels: np.ndarray | None) -> "Transform":
        return cls(arg).fit(x, labels)

    def fit(self, x: np.ndarray, labels: np.ndarray | None = None) -> "Transform":
        x = check_matrix(x, f"{self.name} training data")
        if self.needs_labels and labels is None:
            raise ValueError(f"{self.name}: needs speaker labels (utt2spk) to train")
        self.in_dim = x.shape[1]
        self._fit(x, labels)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.in_dim is None:
            raise RuntimeError(f"{self.name}: transform() called before fit()")
        return self._apply(check_matrix(x, f"{self.name} input", self.in_dim))

    def to_dict(self) -> dict[str, np.ndarray]:
        return {"in_dim": np.array(self.in_dim), "spec": np.array(self.spec), **self._params()}

    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> "Transform":
        spec = str(d["spec"])
        arg = spec.split(":", 1)[1] if ":" in spec else None
        obj = cls(arg)
        obj.in_dim = int(d["in_dim"])
        obj._load({k: np.asarray(v) for k, v in d.items() if k not in ("in_dim", "spec")})
        return obj

    # -- subclass hooks ---------------------------------------------------------------------------
    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        raise NotImplementedError

    def _apply(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _params(self) -> dict[str, np.ndarray]:
        return {}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        pass


@register("mean")
class MeanSubtraction(Transform):
    """Subtract the training-set mean."""

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        self.mean = x.mean(axis=0)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return x - self.mean

    def _params(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        self.mean = d["mean"]


@register("lnorm")
class LengthNorm(Transform):
    """Scale each row to unit Euclidean length (no parameters)."""

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        pass

    def _apply(self, x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norm, 1e-12)


@register("lda")
class LDA(Transform):
    """Project to the k directions maximising between- over within-class scatter (Fisher criterion).

    Solves the generalized problem Sb v = l Sw v with Sw regularised by `reg * trace(Sw)/D * I`
    (shrinkage keeps it invertible when D is close to the number of training rows). The
    eigenvectors are Sw-orthonormal, so the projected within-class covariance is the identity.
    """
    needs_labels = True
    reg = 1e-6

    def __init__(self, arg: str | None = None) -> None:
        self.in_dim = None
        if arg is None or not arg.isdigit() or int(arg) < 1:
            raise ValueError(f"lda needs a positive output dimension, e.g. lda:200; got {self.name}:{arg}")
        self.k = int(arg)

    @property
    def spec(self) -> str:
        return f"lda:{self.k}"

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        st = class_stats(x, labels)
        if st.num_classes < 2:
            raise ValueError(f"lda: needs at least 2 speakers in the training set, got {st.num_classes}")
        if self.k > min(st.num_classes - 1, st.dim):
            raise ValueError(f"lda:{self.k}: output dim must be <= min(#speakers-1, input dim) = "
                             f"{min(st.num_classes - 1, st.dim)} ({st.num_classes} speakers, {st.dim}-dim)")
        self.mean = x.mean(axis=0)
        sw = st.within_scatter / st.num_rows
        dm = st.means - self.mean
        sb = (dm * st.counts[:, None]).T @ dm / st.num_rows
        sw = sw + self.reg * np.trace(sw) / st.dim * np.eye(st.dim)
        evals, evecs = scipy.linalg.eigh(sb, sw)
        self.eigenvalues = evals[::-1][: self.k]
        self.proj = evecs[:, ::-1][:, : self.k]

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.proj

    def _params(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "proj": self.proj, "eigenvalues": self.eigenvalues}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        self.mean, self.proj, self.eigenvalues = d["mean"], d["proj"], d["eigenvalues"]


@register("whiten")
class Whiten(Transform):
    """Whitening to identity covariance: `whiten:pca` (rotate onto the eigenvectors, then scale)
    or `whiten:zca` (scale in the eigenbasis, then rotate back, staying close to the input)."""
    kinds = ("pca", "zca")
    floor = 1e-10

    def __init__(self, arg: str | None = None) -> None:
        self.in_dim = None
        arg = arg or "pca"
        if arg not in self.kinds:
            raise ValueError(f"whiten: unknown kind {arg!r}; use whiten:pca or whiten:zca")
        self.kind = arg

    @property
    def spec(self) -> str:
        return f"whiten:{self.kind}"

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        if x.shape[0] < 2:
            raise ValueError("whiten: needs at least 2 training rows to estimate a covariance")
        self.mean = x.mean(axis=0)
        xc = x - self.mean
        cov = xc.T @ xc / x.shape[0]
        s, u = np.linalg.eigh(cov)
        s = np.maximum(s, self.floor * max(s.max(), self.floor))
        s, u = s[::-1], u[:, ::-1]
        w = u / np.sqrt(s)  # PCA whitening: y = (x - m) U S^-1/2
        self.proj = w @ u.T if self.kind == "zca" else w

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.proj

    def _params(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "proj": self.proj}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        self.mean, self.proj = d["mean"], d["proj"]
