"""Classification losses for embedding training: registry LOSSES, `build_loss`, margin scheduler.

Importing this package registers softmax, am_softmax, aam_softmax, subcenter_aam, intertopk_aam and
pit_softmax (permutation-invariant, for multi-identity models).
"""
from pytorch.losses import margin, pit  # noqa: F401  (registration)
from pytorch.losses.margin_scheduler import MarginScheduleOptions, MarginScheduler
from pytorch.losses.registry import LOSSES, build_loss

__all__ = ["LOSSES", "build_loss", "MarginScheduler", "MarginScheduleOptions"]
