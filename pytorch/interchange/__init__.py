"""Importers of other toolkits' checkpoints: `import_checkpoint` turns a foreign checkpoint into this
toolkit's config sections and state_dict, `write_experiment` writes them as a normal exp dir
(config.yaml + models/avg.pt), so extraction, export and the back-end run on it unchanged.

One module per toolkit (wespeaker, subtools), each with `NAME`, `convert(config, where)` -> (config
sections, key map, remap options); the keys are renamed by keymap.remap_state_dict.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from pytorch.config import load_yaml, save_resolved
from pytorch.interchange import subtools, wespeaker
from pytorch.interchange.keymap import InterchangeError, remap_state_dict
from pytorch.interchange.sections import system_config
from pytorch.models import build_model
from pytorch.training.checkpoint import load_checkpoint, models_dir, save_checkpoint

log = logging.getLogger(__name__)
IMPORTERS = {m.NAME: m for m in (wespeaker, subtools)}

__all__ = ["IMPORTERS", "InterchangeError", "import_checkpoint", "write_experiment"]


def _foreign_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The checkpoint's state_dict, loaded with weights_only=True (a `{"model": ...}` or
    `{"state_dict": ...}` wrapper is unwrapped)."""
    state = load_checkpoint(path)
    for key in ("model", "state_dict"):
        if key in state and isinstance(state[key], Mapping):
            return dict(state[key])
    return state


def import_checkpoint(toolkit: str, checkpoint: str | os.PathLike,
                      config: str | os.PathLike | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """-> (resolved config, state_dict of our model)."""
    if toolkit not in IMPORTERS:
        raise InterchangeError(f"--from {toolkit!r}: unknown toolkit; choose one of: {', '.join(IMPORTERS)}")
    foreign_cfg: Any = load_yaml(config) if config is not None else None
    sections, key_map, opts = IMPORTERS[toolkit].convert(foreign_cfg, str(config or checkpoint))
    cfg = system_config(**sections)
    model = build_model(cfg["model"])
    state = remap_state_dict(_foreign_state(checkpoint), key_map, model, str(checkpoint), **opts)
    model.load_state_dict(state, strict=True)
    return cfg, model.state_dict()


def write_experiment(exp: str | os.PathLike, cfg: dict, state: Mapping[str, torch.Tensor],
                     argv: list[str] | None = None) -> Path:
    """exp/config.yaml and exp/models/avg.pt (the format of pytorch.training.checkpoint)."""
    avg = models_dir(exp) / "avg.pt"
    if avg.exists():
        raise InterchangeError(f"{avg}: exists; import into a new --exp directory")
    Path(exp).mkdir(parents=True, exist_ok=True)
    save_checkpoint({"model": dict(state), "epochs": [], "config": cfg}, avg)
    save_resolved(cfg, Path(exp) / "config.yaml", argv)
    log.info("wrote %s and %s/config.yaml", avg, exp)
    return avg
