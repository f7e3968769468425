"""Learning-rate schedules: `scheduler: {name: warmup_exp|warmup_cosine|plateau|cyclic, ...}`.

All but `plateau` step once per optimiser step, in closed form from the step count t (so resuming
restores them exactly from `last_epoch`). Lengths are given in epochs and converted with the
runtime arguments steps_per_epoch and epochs (the stage's length). The peak learning rate is
optim.lr. With W warm-up steps and T total steps, at step t (0-based):
  warm-up (t < W):   lr = lr0 · (t + 1) / W
  warmup_exp:        lr = lr0 · (final_lr / lr0) ^ p,               p = (t − W) / (T − W), capped at 1
  warmup_cosine:     lr = final_lr + (lr0 − final_lr) · (1 + cos πp) / 2
  cyclic:            triangle between min_lr and max_lr (default lr0), half a cycle = H steps;
                     amplitude halves every cycle (triangular2) or decays as gamma^t (exp_range)
  constant:          lr = lr0 (also used when the config has no scheduler section)
  plateau:           ReduceLROnPlateau on the validation loss (training loss without data.valid),
                     stepped once per epoch.
Past T (a later stage that keeps the schedule) the decays stay at final_lr.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from common.errors import ConfigError
from common.registry import Registry

SCHEDULERS = Registry("scheduler")


class IterScheduler(LRScheduler):
    """Per-step schedule lr = lr_at(t, lr0); subclasses define lr_at."""
    per_epoch = False

    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 warmup_epochs: float = 0.0) -> None:
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.warmup = int(round(warmup_epochs * steps_per_epoch))
        self.total = max(int(epochs * steps_per_epoch), self.warmup + 1)
        self.steps_per_epoch = steps_per_epoch
        # Attributes set so far come from the config: they are not state, so a run resumed under a
        # changed config (bin/train --force, e.g. more epochs) follows the new schedule.
        self._config_keys = set(self.__dict__) | {"_config_keys"}
        super().__init__(optimizer)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k not in self._config_keys}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.base_lrs = [g["initial_lr"] for g in self.optimizer.param_groups]
        self._last_lr = self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr

    def lr_at(self, t: int, lr0: float) -> float:
        raise NotImplementedError

    def progress(self, t: int) -> float:
        return min(1.0, max(0.0, (t - self.warmup) / (self.total - self.warmup)))

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t < self.warmup:
            return [lr0 * (t + 1) / self.warmup for lr0 in self.base_lrs]
        return [self.lr_at(t, lr0) for lr0 in self.base_lrs]

    def step_iter(self) -> None:
        self.step()

    def step_epoch(self, metric: float) -> None:
        """Per-step schedules ignore the epoch's validation loss."""


@SCHEDULERS.register("warmup_exp")
class WarmupExp(IterScheduler):
    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 warmup_epochs: float = 0.0, final_lr: float = 1e-5) -> None:
        if final_lr <= 0:
            raise ConfigError(f"scheduler (warmup_exp): final_lr must be > 0, got {final_lr}")
        self.final_lr = float(final_lr)
        super().__init__(optimizer, steps_per_epoch, epochs, warmup_epochs)

    def lr_at(self, t: int, lr0: float) -> float:
        return lr0 * (self.final_lr / lr0) ** self.progress(t)


@SCHEDULERS.register("warmup_cosine")
class WarmupCosine(IterScheduler):
    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 warmup_epochs: float = 0.0, final_lr: float = 0.0) -> None:
        self.final_lr = float(final_lr)
        super().__init__(optimizer, steps_per_epoch, epochs, warmup_epochs)

    def lr_at(self, t: int, lr0: float) -> float:
        return self.final_lr + (lr0 - self.final_lr) * 0.5 * (1.0 + math.cos(math.pi * self.progress(t)))


@SCHEDULERS.register("cyclic")
class Cyclic(IterScheduler):
    MODES = ("triangular", "triangular2", "exp_range")

    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 min_lr: float = 1e-4, max_lr: float | None = None, half_cycle_epochs: float = 2.0,
                 mode: str = "triangular", gamma: float = 1.0) -> None:
        if mode not in self.MODES:
            raise ConfigError(f"scheduler (cyclic): mode {mode!r} is not one of {', '.join(self.MODES)}")
        self.min_lr, self.max_lr, self.mode, self.gamma = float(min_lr), max_lr, mode, float(gamma)
        self.half = max(1, int(round(half_cycle_epochs * steps_per_epoch)))
        super().__init__(optimizer, steps_per_epoch, epochs)

    def lr_at(self, t: int, lr0: float) -> float:
        top = lr0 if self.max_lr is None else float(self.max_lr)
        cycle = t // (2 * self.half)
        height = max(0.0, 1.0 - abs(t / self.half - 2 * cycle - 1))
        scale = {"triangular": 1.0, "triangular2": 0.5 ** cycle, "exp_range": self.gamma ** t}[self.mode]
        return self.min_lr + (top - self.min_lr) * height * scale


@SCHEDULERS.register("plateau")
class Plateau(ReduceLROnPlateau):
    """Multiply the lr by `factor` when the epoch's validation loss has not improved for `patience` epochs."""
    per_epoch = True

    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 factor: float = 0.1, patience: int = 2, threshold: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        super().__init__(optimizer, mode="min", factor=factor, patience=patience, threshold=threshold,
                         cooldown=cooldown, min_lr=min_lr)

    def step_iter(self) -> None:
        """Plateau looks at epochs only."""

    def step_epoch(self, metric: float) -> None:
        self.step(metric)


def build_scheduler(sched_cfg: Mapping[str, Any] | None, optimizer: torch.optim.Optimizer,
                    steps_per_epoch: int, epochs: int) -> Any:
    """The scheduler of `sched_cfg`; no scheduler section means a constant lr (`constant`)."""
    if not sched_cfg:
        sched_cfg = {"name": "constant"}
    return SCHEDULERS.build(sched_cfg, where="scheduler", optimizer=optimizer,
                            steps_per_epoch=steps_per_epoch, epochs=epochs)


@SCHEDULERS.register("constant")
class Constant(IterScheduler):
    """optim.lr throughout, after an optional warm-up."""

    def __init__(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                 warmup_epochs: float = 0.0) -> None:
        super().__init__(optimizer, steps_per_epoch, epochs, warmup_epochs)

    def lr_at(self, t: int, lr0: float) -> float:
        return lr0
