"""Checkpoints of exp/<sys>/models: save (atomic), find, resolve by name, average, load a model.

    epoch_<N>.pt = {"model", "loss", "optimizer", "scheduler", "scaler", "epoch": N, "step",
                    "stage", "global_batch" (batch_size x processes), "rng", "config"}
    avg.pt       = {"model", "loss", "epochs": [...], "config"}

Checkpoints hold tensors and plain containers only (the RNG states too), and every load is
`torch.load(weights_only=True)`, so a checkpoint from elsewhere cannot run code through pickle.

Names accepted by `resolve_checkpoint` (and so by extract/export's --checkpoint): `avg`,
`epoch_12`, `last` (the highest epoch), `avg.pt`, `models/avg.pt`, or a path to a .pt file.
"""
from __future__ import annotations

import logging
import os
import pickle
import random
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.errors import AsvError

log = logging.getLogger(__name__)
_EPOCH_RE = re.compile(r"^epoch_(\d+)\.pt$")
# Checkpoints saved before the RNG states became lists hold numpy's state as an ndarray. These
# constructors only rebuild arrays (any element object goes through the same restricted unpickler).
_NP_CORE = np._core if hasattr(np, "_core") else np.core          # numpy 2 renamed it
_NUMPY_ARRAY_GLOBALS = [np.ndarray, np.dtype, _NP_CORE.multiarray._reconstruct, type(np.dtype(np.uint32))]


class CheckpointError(AsvError, ValueError):
    """A missing or unusable checkpoint; the message names the file and what to do."""


def models_dir(exp: str | os.PathLike) -> Path:
    return Path(exp) / "models"


def epoch_path(exp: str | os.PathLike, epoch: int) -> Path:
    return models_dir(exp) / f"epoch_{epoch}.pt"


def save_checkpoint(obj: Mapping[str, Any], path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same directory, then rename: a crash never leaves a
    truncated epoch_N.pt that resume would pick up as complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(dict(obj), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint's dict, loaded with `weights_only=True`: tensors and plain containers only, so a
    checkpoint from elsewhere cannot run code through pickle; one holding anything else is refused."""
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        what = f" ({found.group(1)})" if found else ""
        raise CheckpointError(f"{path}: refused: it holds a pickled Python object{what}, which could run "
                              "code when loaded; only tensors and plain containers are accepted, so use "
                              "a checkpoint saved by this toolkit") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({e}); delete it to resume from the "
                              "previous epoch") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (a {type(state).__name__}, not a dict)")
    return state


def list_epochs(exp: str | os.PathLike) -> list[tuple[int, Path]]:
    """(epoch, path) of every models/epoch_N.pt, by epoch."""
    d = models_dir(exp)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), d / m.group(0)) for m in map(_EPOCH_RE.match, os.listdir(d)) if m]
    return sorted(found)


def resolve_checkpoint(exp: str | os.PathLike, name: str) -> Path:
    """Path of checkpoint `name` (see the module doc), or CheckpointError naming what exists."""
    if name == "last":
        epochs = list_epochs(exp)
        if not epochs:
            raise CheckpointError(f"{models_dir(exp)}: no epoch_N.pt checkpoints; train first (stage 3)")
        return epochs[-1][1]
    candidates = [Path(name), Path(exp) / name, models_dir(exp) / name, models_dir(exp) / f"{name}.pt"]
    for c in candidates:
        if c.suffix == ".pt" and c.is_file():
            return c
    have = ", ".join(p.name for _, p in list_epochs(exp)[-3:]) or "none"
    hint = (f" run `python -m pytorch.bin.average --exp {exp}` first;"
            if name in ("avg", "avg.pt") else "")
    raise CheckpointError(f"{models_dir(exp) / (name if name.endswith('.pt') else name + '.pt')}: "
                          f"checkpoint not found;{hint} existing epochs (last 3): {have}")


def capture_rng() -> dict:
    """The RNG states as tensors and plain lists, which `weights_only` loading accepts (numpy's state
    holds an ndarray, which it does not)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {"torch": torch.get_rng_state(), "numpy": [kind, key.tolist(), int(pos), int(has_gauss),
                                                       float(gauss)],
             "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(key, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def average_state_dicts(states: Sequence[Mapping[str, torch.Tensor]], names: Sequence[str] = ()) -> dict:
    """Mean of floating tensors (weights and BN running statistics, summed in float64); integer
    tensors (BN num_batches_tracked) are counters, not parameters: the last checkpoint's is kept."""
    if not states:
        raise ValueError("no state dicts to average")
    names = list(names) or [f"#{i}" for i in range(len(states))]
    ref = states[-1]
    out = {}
    for i, sd in enumerate(states):
        if set(sd) != set(ref):
            diff = sorted(set(sd) ^ set(ref))[:3]
            raise CheckpointError(f"{names[i]}: parameters differ from {names[-1]} ({', '.join(diff)}); "
                                  "average checkpoints of one model only")
    for key, last in ref.items():
        if not torch.is_floating_point(last):
            out[key] = last.clone()
            continue
        acc = torch.zeros(last.shape, dtype=torch.float64)
        for i, sd in enumerate(states):
            if sd[key].shape != last.shape:
                raise CheckpointError(f"{names[i]}: {key} has shape {tuple(sd[key].shape)}, "
                                      f"{names[-1]} has {tuple(last.shape)}")
            acc += sd[key].to(torch.float64)
        out[key] = (acc / len(states)).to(last.dtype)
    return out


def average_checkpoints(paths: Sequence[str | os.PathLike]) -> dict:
    """The avg.pt record of `paths`: averaged model (and classifier) weights, their epochs, the config."""
    ckpts = [load_checkpoint(p) for p in paths]
    names = [str(p) for p in paths]
    out = {"model": average_state_dicts([c["model"] for c in ckpts], names),
           "epochs": [c.get("epoch") for c in ckpts], "config": ckpts[-1].get("config")}
    if all("loss" in c for c in ckpts):
        try:
            out["loss"] = average_state_dicts([c["loss"] for c in ckpts], names)
        except CheckpointError:
            log.warning("classifier weights differ in shape across checkpoints; avg.pt has none")
    return out


def average_last(exp: str | os.PathLike, last: int, out: str | os.PathLike | None = None) -> Path:
    """Average the `last` highest epochs of exp/models into models/avg.pt (or `out`)."""
    epochs = list_epochs(exp)
    if last < 1:
        raise CheckpointError(f"average: --last must be >= 1, got {last}")
    if not epochs:
        raise CheckpointError(f"{models_dir(exp)}: no epoch_N.pt checkpoints to average")
    if len(epochs) < last:
        log.warning("%s: only %d checkpoints, averaging all of them (asked for %d)",
                    models_dir(exp), len(epochs), last)
    chosen = [p for _, p in epochs[-last:]]
    dest = Path(out) if out else models_dir(exp) / "avg.pt"
    if any(dest.resolve() == p.resolve() for p in chosen):
        raise CheckpointError(f"--out {dest} is one of the checkpoints being averaged; write to another file")
    save_checkpoint(average_checkpoints(chosen), dest)
    log.info("averaged %s into %s", ", ".join(p.name for p in chosen), dest)
    return dest


def load_model(exp_dir: str | os.PathLike, checkpoint: str = "avg") -> nn.Module:
    """The model of exp_dir built from its config.yaml, with the weights of `checkpoint`, in eval mode."""
    from pytorch.config import load_config
    from pytorch.models import build_model
    cfg = load_config(Path(exp_dir) / "config.yaml")
    path = resolve_checkpoint(exp_dir, checkpoint)
    model = build_model(cfg["model"])
    state = load_checkpoint(path)
    if "model" not in state:
        raise CheckpointError(f"{path}: not a training checkpoint (no 'model' entry)")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        detail = " ".join(line.strip() for line in str(e).splitlines()[:2])
        raise CheckpointError(f"{path}: weights do not fit the model of {exp_dir}/config.yaml ({detail})"
                              ) from None
    return model.eval()
