"""A back-end chain: transforms trained in order on the training set, optionally ending in PLDA.

Written as a string `mean,lda:200,lnorm,plda` or a YAML list `[mean, lda:200, lnorm, plda]`.
`Chain.save(dir)` writes one `NN_<name>.npz` per step and then `chain.yaml` (the list of specs and
files); chain.yaml is written last, so a directory without it is an unfinished save.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from common.errors import ConfigError, FormatError
from common.io import atomic_write
from common.registry import Registry
from score.plda import PLDA
from score.transforms import TRANSFORMS

log = logging.getLogger(__name__)


class Step(Protocol):
    spec: str

    @classmethod
    def fit_spec(cls, arg: str | None, x: np.ndarray, labels: np.ndarray | None) -> Step: ...
    def to_dict(self) -> dict[str, np.ndarray]: ...
    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> Step: ...


STEPS = Registry("step")  # every chain step: the transforms, then plda (which must come last)
for _name in TRANSFORMS.names():
    STEPS.add(_name, TRANSFORMS.get(_name))
STEPS.add(PLDA.name, PLDA)
CHAIN_FILE = "chain.yaml"


def parse_spec(spec: str | Sequence[str]) -> list[tuple[str, str | None]]:
    """'mean,lda:200,plda' or ['mean', 'lda:200', 'plda'] -> [(name, arg or None), ...], validated."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    if not items or any(not s for s in items):
        raise ConfigError(f"chain {spec!r}: empty step; write steps like 'mean,lda:200,lnorm,plda'")
    out = []
    for item in items:
        name, _, arg = item.partition(":")
        if name not in STEPS:
            raise ConfigError(f"chain {spec!r}: unknown step {name!r}; "
                              f"choose one of: {', '.join(STEPS.names())}")
        out.append((name, arg or None))
    for name, _ in out[:-1]:
        if name == PLDA.name:
            raise ConfigError(f"chain {spec!r}: 'plda' must be the last step")
    return out


class Chain:
    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps

    @property
    def spec(self) -> str:
        return ",".join(s.spec for s in self.steps)

    @property
    def transforms(self) -> list[Any]:
        return [s for s in self.steps if not isinstance(s, PLDA)]

    @property
    def plda(self) -> PLDA | None:
        return self.steps[-1] if self.steps and isinstance(self.steps[-1], PLDA) else None

    @classmethod
    def fit(cls, spec: str | Sequence[str], x: np.ndarray, labels: np.ndarray | None = None) -> Chain:
        """Fit each step on the output of the previous ones."""
        parsed = parse_spec(spec)
        if np.asarray(x).ndim != 2 or len(x) == 0:
            raise ConfigError(f"chain {spec!r}: empty or non-2-D training set (shape {np.shape(x)})")
        steps = []
        for name, arg in parsed:
            step = STEPS.get(name).fit_spec(arg, x, labels)
            log.info("fitted %s on %d x %d", step.spec, *np.shape(x))
            steps.append(step)
            if not isinstance(step, PLDA):
                x = step.transform(x)
        return cls(steps)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Apply the non-PLDA steps (PLDA scores, it does not transform)."""
        x = np.asarray(x, dtype=np.float64)
        for step in self.transforms:
            x = step.transform(x)
        return x

    def adapt_plda(self, x_indomain: np.ndarray, within_covar_scale: float = 0.3,
                   between_covar_scale: float = 0.7) -> Chain:
        """A copy whose PLDA is adapted (Kaldi ivector-adapt-plda) to in-domain rows, passed through
        the chain's transforms first."""
        if self.plda is None:
            raise ConfigError(f"chain {self.spec!r} has no plda step to adapt")
        plda = self.plda.adapt(self.transform(x_indomain), within_covar_scale, between_covar_scale)
        return Chain(self.steps[:-1] + [plda])

    def save(self, backend_dir: str | os.PathLike) -> None:
        d = Path(backend_dir)
        d.mkdir(parents=True, exist_ok=True)
        entries = []
        for i, step in enumerate(self.steps):
            fname = f"{i:02d}_{step.spec.split(':')[0]}.npz"
            with atomic_write(d / fname, "wb") as f:
                np.savez(f, **step.to_dict())
            entries.append({"step": step.spec, "file": fname})
        with atomic_write(d / CHAIN_FILE) as f:
            yaml.safe_dump({"chain": self.spec, "steps": entries}, f, sort_keys=False)

    @classmethod
    def load(cls, backend_dir: str | os.PathLike) -> Chain:
        d = Path(backend_dir)
        path = d / CHAIN_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no back-end here; train one with "
                                    f"python -m score.bin.train_backend --out {d}")
        with open(path) as f:
            cfg = yaml.safe_load(f)
        if not isinstance(cfg, dict) or not isinstance(cfg.get("steps"), list):
            raise FormatError(f"{path}: malformed, expected a mapping with a 'steps' list")
        steps = []
        for entry in cfg["steps"]:
            name = str(entry.get("step", "")).split(":")[0]
            if name not in STEPS:
                raise FormatError(f"{path}: unknown step {entry.get('step')!r}; choose one of: "
                                  f"{', '.join(STEPS.names())}")
            npz = d / str(entry.get("file"))
            if not npz.is_file():
                raise FileNotFoundError(f"{path}: step {entry['step']!r} file {npz} is missing; "
                                        "retrain the back-end")
            with np.load(npz) as z:
                steps.append(STEPS.get(name).from_dict(dict(z)))
        parse_spec([s.spec for s in steps])  # re-validate order (plda last)
        return cls(steps)
