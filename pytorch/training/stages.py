"""Multi-stage training plans from the config's `stages:` list.

Stage 0 ("base") is the config itself and trains train.epochs epochs. Each entry of `stages:`
    {name: lm, epochs: 5, set: {loss.margin: 0.5, data.num_frames: 600, optim.lr: 1.0e-4}}
applies its `set:` to the base config (not to the previous stage) and trains `epochs` more epochs;
the epoch counter, the checkpoints (epoch_N.pt) and the model and classifier weights carry on.
A stage that sets any optim.* or scheduler.* key, or a loss key other than margin, starts a
fresh optimiser and schedule (e.g. LM fine-tuning at a low lr: also set scheduler.warmup_epochs: 0);
otherwise the previous optimiser and schedule simply continue. A schedule spans the epochs of all
the consecutive stages that share it (the base config's train.epochs plus e.g. a grow-chunk stage).
model.* (the architecture) and train.epochs cannot change in a stage.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.errors import ConfigError
from pytorch.config import set_dotted

_RESET = ("optim", "scheduler")
_STAGE_KEYS = ("name", "epochs", "set")


@dataclass
class Stage:
    index: int
    name: str
    epochs: int
    first_epoch: int          # 1-based global epoch number of the stage's first epoch
    cfg: dict                 # the config this stage trains with
    group: int                # stages of one group share one optimiser and schedule
    new_loss: bool = False    # loss keys other than margin changed: rebuild it, keep its weights

    @property
    def last_epoch(self) -> int:
        return self.first_epoch + self.epochs - 1


def _epochs(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: epochs must be a non-negative integer, got {value!r}")
    return value


def plan_stages(cfg: Mapping[str, Any]) -> list[Stage]:
    base = copy.deepcopy(dict(cfg))
    base_epochs = _epochs((base.get("train") or {}).get("epochs", 10), "train.epochs")
    plan = [Stage(0, "base", base_epochs, 1, base, 0)]
    entries = base.get("stages") or []
    if not isinstance(entries, list):
        raise ConfigError("stages: expected a list of {name, epochs, set} mappings")
    for i, entry in enumerate(entries, start=1):
        where = f"stages[{i - 1}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a mapping with keys {', '.join(_STAGE_KEYS)}")
        for key in entry:
            if key not in _STAGE_KEYS:
                raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(_STAGE_KEYS)}")
        if "epochs" not in entry:
            raise ConfigError(f"{where}: 'epochs' is required")
        sets = entry.get("set") or {}
        if not isinstance(sets, Mapping):
            raise ConfigError(f"{where}.set: expected a mapping of section.key: value")
        stage_cfg = copy.deepcopy(base)
        reset, new_loss = False, False
        for key, value in sets.items():
            section = str(key).split(".")[0]
            if section in ("model", "stages", "meta") or key == "train.epochs":
                raise ConfigError(f"{where}.set: {key!r} cannot change between stages "
                                  f"(use the stage's epochs: for its length)")
            if section in _RESET:
                reset = True
            if section == "loss" and key != "loss.margin":
                reset = new_loss = True
            set_dotted(stage_cfg, str(key), value, f"{where}.set")
        group = plan[-1].group + 1 if reset else plan[-1].group
        prev = plan[-1]
        plan.append(Stage(i, str(entry.get("name", f"stage{i}")), _epochs(entry["epochs"], f"{where}.epochs"),
                          prev.last_epoch + 1, stage_cfg, group, new_loss))
    return plan


def stage_of(plan: list[Stage], epoch: int) -> Stage:
    for st in plan:
        if st.first_epoch <= epoch <= st.last_epoch:
            return st
    raise ValueError(f"epoch {epoch} is beyond the plan's {plan[-1].last_epoch} epochs")


def total_epochs(plan: list[Stage]) -> int:
    return plan[-1].last_epoch
