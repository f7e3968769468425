"""Margin warm-up: start training with a small margin and raise it to the loss's margin.

Config (train.margin_scheduler), in epochs of training already done (a float, updated every step):
    {start_epoch: 20, end_epoch: 40, initial: 0.0, type: exp}
The margin is `initial` until `start_epoch` epochs are done, reaches the loss section's `margin`
(the final value; there is no separate key, so a large-margin stage that sets loss.margin is obeyed)
after `end_epoch` epochs, and in between rises linearly or along 1 − r^p (type exp, r = 1e-3,
renormalised to reach exactly 1 at p = 1): fast at first, then flattening, as in WeSpeaker.

`convention: wespeaker` reproduces WeSpeaker's MarginScheduler step by step, with its
increase_start_epoch / fix_start_epoch as start_epoch / end_epoch and its initial_margin as
initial (the final margin is loss.margin here too). WeSpeaker counts epochs from 1 and starts the
ramp at global step (increase_start_epoch − 1)·iters, so its ramp runs from progress
start_epoch − 1 to end_epoch − 1, one epoch before the native one with the same numbers; its exp
ratio is 1 − (1e-3 / (1 + 1e-6))^p, not renormalised, so it reaches about 0.999 at the last ramp
step and jumps to 1 at step (fix_start_epoch − 1)·iters. A WeSpeaker config imported or
transcribed must use this convention to train with WeSpeaker's schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

_EXP_FLOOR = 1e-3
_WESPEAKER_EXP_BASE = _EXP_FLOOR / (1.0 + 1e-6)   # WeSpeaker: final_val / (initial_val + 1e-6)
CONVENTIONS = ("native", "wespeaker")


@dataclass
class MarginScheduleOptions:
    """train.margin_scheduler: start_epoch, end_epoch, initial, type (exp | linear) and convention
    (native | wespeaker: WeSpeaker's increase_start_epoch, fix_start_epoch, initial_margin and
    increase_type, reproduced step by step; see the module doc)."""
    start_epoch: float = 0.0
    end_epoch: float = 0.0
    initial: float = 0.0
    type: str = "exp"
    convention: str = "native"    # native | wespeaker (see the module doc)

    _choices = {"type": ("exp", "linear"), "convention": CONVENTIONS}

    def check(self, where: str) -> None:
        from common.errors import ConfigError
        if not (0 <= self.start_epoch <= self.end_epoch):
            raise ConfigError(f"{where}: need 0 <= start_epoch <= end_epoch, got "
                              f"start_epoch={self.start_epoch}, end_epoch={self.end_epoch}")


class MarginScheduler:
    """margin(progress) for progress = epochs done (float); stateless, so resuming is exact."""

    def __init__(self, final: float, start_epoch: float = 0.0, end_epoch: float = 0.0,
                 initial: float = 0.0, type: str = "exp", convention: str = "native") -> None:
        if type not in ("exp", "linear"):
            raise ValueError(f"margin scheduler type must be exp or linear, got {type!r}")
        if convention not in CONVENTIONS:
            raise ValueError(f"margin scheduler convention must be one of {', '.join(CONVENTIONS)}, "
                             f"got {convention!r}")
        self.final, self.initial = float(final), float(initial)
        self.start, self.end, self.type = float(start_epoch), float(end_epoch), type
        self.convention = convention

    @classmethod
    def from_options(cls, final: float, opts: MarginScheduleOptions) -> MarginScheduler:
        return cls(final, opts.start_epoch, opts.end_epoch, opts.initial, opts.type, opts.convention)

    def _wespeaker_ratio(self, progress: float) -> float:
        # WeSpeaker compares global steps: fixed once step >= (fix - 1)·iters, ramping once
        # step >= (increase - 1)·iters; progress = step / iters here.
        start, end = self.start - 1.0, self.end - 1.0
        if progress >= end:
            return 1.0
        if progress < start:
            return 0.0
        p = (progress - start) / (end - start)
        if self.type == "linear":
            return p
        return 1.0 - _WESPEAKER_EXP_BASE ** p

    def ratio(self, progress: float) -> float:
        if self.convention == "wespeaker":
            return self._wespeaker_ratio(progress)
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
