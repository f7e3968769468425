"""Embedding transforms trained on a training set and applied to enroll and test.

Each transform is a class registered under a short name (`mean`, `lda`, `whiten`, `lnorm`), with
`fit(x, labels=None)`, `transform(x)`, `to_dict()` / `from_dict()` (arrays for an .npz) and
`spec` (the chain token that rebuilds it, e.g. `lda:200`). `score.chain` strings them together.
"""
from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np

from common.errors import AsvError, ConfigError
from common.registry import Registry
from score.classstats import check_matrix, class_stats, within_scatter_problem

log = logging.getLogger(__name__)

TRANSFORMS = Registry("step")


class Transform:
    """Base class: subclasses set `needs_labels` and implement the fitting and the mapping."""
    name: ClassVar[str] = ""
    needs_labels: ClassVar[bool] = False

    def __init_subclass__(cls, name: str, **kwargs: object) -> None:
        """`class LDA(Transform, name="lda")` registers the class under its chain name."""
        super().__init_subclass__(**kwargs)
        cls.name = name
        TRANSFORMS.add(name, cls)

    def __init__(self, arg: str | None = None) -> None:
        if arg is not None:
            raise ConfigError(f"chain step {self.name!r} takes no argument, got {self.name}:{arg}")
        self.in_dim: int | None = None

    # -- chain protocol -------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        return self.name

    @classmethod
    def fit_spec(cls, arg: str | None, x: np.ndarray, labels: np.ndarray | None) -> Transform:
        return cls(arg).fit(x, labels)

    def fit(self, x: np.ndarray, labels: np.ndarray | None = None) -> Transform:
        x = check_matrix(x, f"{self.name} training data")
        if self.needs_labels and labels is None:
            raise AsvError(f"{self.name}: needs speaker labels (utt2spk) to train")
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
    def from_dict(cls, d: dict[str, np.ndarray]) -> Transform:
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


class MeanSubtraction(Transform, name="mean"):
    """Subtract the training-set mean."""

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        self.mean = x.mean(axis=0)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return x - self.mean

    def _params(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        self.mean = d["mean"]


class LengthNorm(Transform, name="lnorm"):
    """Scale each row to unit Euclidean length (no parameters)."""

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        pass

    def _apply(self, x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norm, 1e-12)


class LDA(Transform, name="lda"):
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
            raise ConfigError(f"lda needs a positive output dimension, e.g. lda:200; got {self.name}:{arg}")
        self.k = int(arg)

    @property
    def spec(self) -> str:
        return f"lda:{self.k}"

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        st = class_stats(x, labels)
        n, c, d = st.num_rows, st.num_classes, st.dim
        log.info("lda: %d speakers, %d samples, %d dims -> %d", c, n, d, self.k)
        if c < 2:
            raise AsvError(f"lda: needs at least 2 speakers in the training set, got {c}")
        if self.k > min(c - 1, d):
            raise ConfigError(f"lda:{self.k}: output dim must be <= min(#speakers-1, input dim) = "
                              f"{min(c - 1, d)} ({c} speakers, {d}-dim)")
        self.mean = x.mean(axis=0)
        sw = st.within_scatter / n
        dm = st.means - self.mean
        sb = (dm * st.counts[:, None]).T @ dm / n
        # With fewer within-class degrees of freedom (n - c) than dims, Sw is singular and the Fisher ratio
        # is unbounded on its null space: the projection would blow up on unseen data (and a PLDA after it
        # scores ~1e10). Then LDA runs in the top n - c principal components, as in Fisherfaces.
        basis = np.eye(d)
        problem = within_scatter_problem(st)
        if problem:
            problem, r = problem
            if self.k > r:
                raise AsvError(f"lda:{self.k}: {problem}; use lda:{max(1, r)} or fewer, "
                               "or more training data")
            log.warning("lda: %s; fitting in the top %d principal components", problem, r)
            xc = x - self.mean
            basis = np.linalg.eigh(xc.T @ xc)[1][:, ::-1][:, :r]
            sw, sb = basis.T @ sw @ basis, basis.T @ sb @ basis
        sw = sw + self.reg * np.trace(sw) / len(sw) * np.eye(len(sw))
        import scipy.linalg  # here, not at the top: scoring CLIs load an LDA without paying for scipy
        evals, evecs = scipy.linalg.eigh(sb, sw)
        self.eigenvalues = evals[::-1][: self.k]
        self.proj = basis @ evecs[:, ::-1][:, : self.k]

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.proj

    def _params(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "proj": self.proj, "eigenvalues": self.eigenvalues}

    def _load(self, d: dict[str, np.ndarray]) -> None:
        self.mean, self.proj, self.eigenvalues = d["mean"], d["proj"], d["eigenvalues"]


class Whiten(Transform, name="whiten"):
    """Whitening to identity covariance: `whiten:pca` (rotate onto the eigenvectors, then scale)
    or `whiten:zca` (scale in the eigenbasis, then rotate back, staying close to the input)."""
    kinds = ("pca", "zca")
    floor = 1e-10

    def __init__(self, arg: str | None = None) -> None:
        self.in_dim = None
        arg = arg or "pca"
        if arg not in self.kinds:
            raise ConfigError(f"whiten: unknown kind {arg!r}; use whiten:pca or whiten:zca")
        self.kind = arg

    @property
    def spec(self) -> str:
        return f"whiten:{self.kind}"

    def _fit(self, x: np.ndarray, labels: np.ndarray | None) -> None:
        if x.shape[0] < 2:
            raise AsvError("whiten: needs at least 2 training rows to estimate a covariance")
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
