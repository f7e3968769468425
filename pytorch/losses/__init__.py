"""Classification losses for embedding training: registry LOSSES, `build_loss`, margin scheduler.

Importing this package registers softmax, am_softmax, aam_softmax, subcenter_aam, intertopk_aam.
"""
from pytorch.losses import margin  # noqa: F401  (registration)
from pytorch.losses.margin_scheduler import MarginScheduleOptions, MarginScheduler
from pytorch.losses.registry import LOSSES, build_loss

__all__ = ["LOSSES", "build_loss", "MarginScheduler", "MarginScheduleOptions"]
