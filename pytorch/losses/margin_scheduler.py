"""Margin warm-up: start training with a small margin and raise it to the loss's margin.

Config (train.margin_scheduler), in epochs of training already done (a float, updated every step):
    {start_epoch: 20, end_epoch: 40, initial: 0.0, type: exp}
The margin is `initial` until `start_epoch` epochs are done, reaches the loss section's `margin`
(the final value; there is no separate key, so a large-margin stage that sets loss.margin is obeyed)
after `end_epoch` epochs, and in between rises linearly or along 1 − r^p (type exp, r = 1e-3,
renormalised to reach exactly 1 at p = 1): fast at first, then flattening, as in WeSpeaker.
"""
from __future__ import annotations

from dataclasses import dataclass

_EXP_FLOOR = 1e-3


@dataclass
class MarginScheduleOptions:
    start_epoch: float = 0.0
    end_epoch: float = 0.0
    initial: float = 0.0
    type: str = "exp"

    _choices = {"type": ("exp", "linear")}

    def check(self, where: str) -> None:
        from common.errors import ConfigError
        if not (0 <= self.start_epoch <= self.end_epoch):
            raise ConfigError(f"{where}: need 0 <= start_epoch <= end_epoch, got "
                              f"start_epoch={self.start_epoch}, end_epoch={self.end_epoch}")


class MarginScheduler:
    """margin(progress) for progress = epochs done (float); stateless, so resuming is exact."""

    def __init__(self, final: float, start_epoch: float = 0.0, end_epoch: float = 0.0,
                 initial: float = 0.0, type: str = "exp") -> None:
        if type not in ("exp", "linear"):
            raise ValueError(f"margin scheduler type must be exp or linear, got {type!r}")
        self.final, self.initial = float(final), float(initial)
        self.start, self.end, self.type = float(start_epoch), float(end_epoch), type

    def ratio(self, progress: float) -> float:
        if progress <= self.start:
            return 0.0
        if progress >= self.end:
            return 1.0
        p = (progress - self.start) / (self.end - self.start)
        if self.type == "linear":
            return p
        return (1.0 - _EXP_FLOOR ** p) / (1.0 - _EXP_FLOOR)

    def __call__(self, progress: float) -> float:
        return self.initial + (self.final - self.initial) * self.ratio(progress)
