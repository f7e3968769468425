"""Softmax and cosine-margin classification losses for speaker-embedding training.

Cosine losses score an embedding against L2-normalised class centres, cos θ_j, and train with
cross-entropy on s·ψ_j where ψ_j = cos θ_j for non-targets and a margin-penalised value for the
target y:
  - AM-softmax (CosFace, Wang et al. 2018):   ψ_y = cos θ_y − m
  - AAM-softmax (ArcFace, Deng et al. 2019):  ψ_y = cos(θ_y + m). When θ_y + m > π, cos(θ + m) stops
    decreasing in θ, so a monotonic continuation takes over (`fallback`):
      continuous (default, WeSpeaker):  ψ_y = cos θ_y − (1 − cos m), equal to cos(θ + m) = −1 at the
                                        switch θ = π − m, so the loss has no jump there;
      arcface (insightface):            ψ_y = cos θ_y − m·sin m, which drops by
                                        m·sin m − (1 − cos m) ≈ m²/2 at the switch.
    Both have slope 1 in cos θ and differ only for θ_y > π − m; the continuous one is the default
    because a loss that jumps at an arbitrary angle is simply worse, and WeSpeaker trains with it.
    With `easy_margin` the margin is applied only where cos θ_y > 0 (θ_y < π/2) and ψ_y = cos θ_y
    elsewhere.
  - sub-centre AAM (Deng et al. 2020): K centres per class, cos θ_j = max_k cos θ_jk, so noisy or
    multi-modal speakers can occupy several centres.
  - inter-top-k penalty (Zhao et al. 2022, "Multi-query multi-head attention pooling and inter-topK
    penalty"): the k non-target classes closest to the embedding get ψ_j = cos(θ_j − m'), a larger
    logit, which pushes the hardest impostor centres further away. While the margin scheduler
    warms m up, m' follows it (`topk_schedule`):
      capped (default):  m' = topk_margin · min(1, m / margin), margin = the configured final one,
                         so topk_margin is exactly the penalty once m has reached its final value;
      wespeaker:         m' = topk_margin · m / 0.2, uncapped, and m' = 0 while m <= 0.001
                         (WeSpeaker's ArcMarginProduct_intertopk_subcenter: 0.2 is its default
                         margin, so m' = 0.09 at m = 0.3 with topk_margin 0.06).
The margin is applied only to the entries that need it (gather/scatter), so the cost stays one
[B, C·K] matmul for thousands of classes.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pytorch.losses.registry import LOSSES

_EPS = 1e-12   # sqrt(1 - cos²) at |cos| = 1: the clamp zeroes the gradient there instead of inf
_FALLBACKS = ("continuous", "arcface")
_TOPK_SCHEDULES = ("capped", "wespeaker")
_WESPEAKER_TOPK_REF = 0.2      # WeSpeaker scales m' by m / 0.2 (its default margin) ...
_WESPEAKER_TOPK_MIN = 0.001    # ... and switches it off while m <= 0.001


def _sin(cos: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((1.0 - cos * cos).clamp(min=_EPS))


@LOSSES.register("softmax")
class Softmax(nn.Module):
    """Plain softmax cross-entropy over a linear layer (weights and bias); no margin."""

    def __init__(self, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(embed_dim, num_classes)
        self.margin = 0.0

    def set_margin(self, margin: float) -> None:
        """Softmax has no margin; accepted so every loss works with the margin scheduler."""

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.fc(emb)
        return F.cross_entropy(logits, labels), logits


class CosineMarginLoss(nn.Module):
    """Shared machinery: normalised centres (optionally K per class), scale, inter-top-k penalty
    (top_k nearest non-targets get cos(θ − m'), m' = topk_margin warmed up by `topk_schedule`:
    capped | wespeaker, see the module doc)."""

    def __init__(self, embed_dim: int, num_classes: int, scale: float = 32.0, margin: float = 0.2,
                 sub_centers: int = 1, top_k: int = 0, topk_margin: float = 0.0,
                 topk_schedule: str = "capped") -> None:
        super().__init__()
        if topk_schedule not in _TOPK_SCHEDULES:
            raise ValueError(f"loss.topk_schedule must be one of {', '.join(_TOPK_SCHEDULES)}, "
                             f"got {topk_schedule!r}")
        self.topk_schedule = topk_schedule
        if sub_centers < 1:
            raise ValueError(f"loss.sub_centers must be >= 1, got {sub_centers}")
        if top_k < 0 or top_k >= num_classes:
            raise ValueError(f"loss.top_k must be in [0, num_classes-1={num_classes - 1}], got {top_k}")
        self.num_classes, self.sub_centers = num_classes, sub_centers
        self.scale, self.top_k, self.topk_margin = float(scale), int(top_k), float(topk_margin)
        self.base_margin = float(margin)
        self.weight = nn.Parameter(torch.empty(num_classes * sub_centers, embed_dim))
        nn.init.xavier_uniform_(self.weight)
        self.set_margin(margin)

    def set_margin(self, margin: float) -> None:
        self.margin = float(margin)

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        """cos θ [B, C]: the best of the K sub-centres of each class."""
        cos = F.linear(F.normalize(emb, dim=1), F.normalize(self.weight, dim=1))
        if self.sub_centers > 1:
            cos = cos.view(cos.shape[0], self.num_classes, self.sub_centers).amax(dim=2)
        return cos.clamp(-1.0, 1.0)

    def target_logit(self, cos_y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def topk_margin_now(self) -> float:
        """m' at the current margin m (the scheduler warms m' up with m)."""
        if self.topk_schedule == "wespeaker":
            if self.margin <= _WESPEAKER_TOPK_MIN:
                return 0.0
            return self.topk_margin * self.margin / _WESPEAKER_TOPK_REF
        ratio = min(1.0, self.margin / self.base_margin) if self.base_margin > 0 else 1.0
        return self.topk_margin * ratio

    def _topk_penalty(self, cos: torch.Tensor, labels: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        mp = self.topk_margin_now()
        masked = cos.detach().scatter(1, labels[:, None], -2.0)   # never pick the target
        idx = masked.topk(self.top_k, dim=1).indices
        c = cos.gather(1, idx)
        return out.scatter(1, idx, c * math.cos(mp) + _sin(c) * math.sin(mp))   # cos(θ - m')

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos = self.cosine(emb.float())
        out = cos
        if self.top_k > 0 and self.topk_margin != 0.0:
            out = self._topk_penalty(cos, labels, out)
        out = out.scatter(1, labels[:, None], self.target_logit(cos.gather(1, labels[:, None])))
        logits = self.scale * out
        return F.cross_entropy(logits, labels), logits


@LOSSES.register("am_softmax")
class AMSoftmax(CosineMarginLoss):
    """Additive margin: s·(cos θ_y − m) for the target."""

    def __init__(self, embed_dim: int, num_classes: int, scale: float = 30.0, margin: float = 0.2,
                 sub_centers: int = 1, top_k: int = 0, topk_margin: float = 0.0,
                 topk_schedule: str = "capped") -> None:
        super().__init__(embed_dim, num_classes, scale, margin, sub_centers, top_k, topk_margin,
                         topk_schedule)

    def target_logit(self, cos_y: torch.Tensor) -> torch.Tensor:
        return cos_y - self.margin


@LOSSES.register("aam_softmax")
class AAMSoftmax(CosineMarginLoss):
    """Additive angular margin: s·cos(θ_y + m) for the target. Where θ_y + m > π, `fallback`
    continuous (default, WeSpeaker: cos θ − (1 − cos m)) or arcface (cos θ − m·sin m); see the
    module doc. Inter-top-k keys (top_k, topk_margin, topk_schedule) as in CosineMarginLoss."""

    def __init__(self, embed_dim: int, num_classes: int, scale: float = 32.0, margin: float = 0.2,
                 easy_margin: bool = False, sub_centers: int = 1, top_k: int = 0,
                 topk_margin: float = 0.0, fallback: str = "continuous",
                 topk_schedule: str = "capped") -> None:
        if easy_margin not in (True, False):
            raise ValueError(f"loss.easy_margin must be true or false, got {easy_margin!r}")
        if fallback not in _FALLBACKS:
            raise ValueError(f"loss.fallback must be one of {', '.join(_FALLBACKS)}, got {fallback!r}")
        self.easy_margin, self.fallback = easy_margin, fallback
        super().__init__(embed_dim, num_classes, scale, margin, sub_centers, top_k, topk_margin,
                         topk_schedule)

    def target_logit(self, cos_y: torch.Tensor) -> torch.Tensor:
        m = self.margin
        phi = cos_y * math.cos(m) - _sin(cos_y) * math.sin(m)          # cos(θ + m)
        if self.easy_margin:
            return torch.where(cos_y > 0, phi, cos_y)
        # θ + m > π  <=>  cos θ < cos(π - m): continue monotonically with slope 1 in cos θ.
        drop = 1.0 - math.cos(m) if self.fallback == "continuous" else m * math.sin(m)
        return torch.where(cos_y > math.cos(math.pi - m), phi, cos_y - drop)


@LOSSES.register("subcenter_aam")
class SubCenterAAM(AAMSoftmax):
    """AAM-softmax with K sub-centres per class (default K = 3, Deng et al. 2020); the other keys
    (fallback, top_k, topk_margin, topk_schedule) as in AAMSoftmax."""

    def __init__(self, embed_dim: int, num_classes: int, scale: float = 32.0, margin: float = 0.2,
                 easy_margin: bool = False, sub_centers: int = 3, top_k: int = 0,
                 topk_margin: float = 0.0, fallback: str = "continuous",
                 topk_schedule: str = "capped") -> None:
        super().__init__(embed_dim, num_classes, scale, margin, easy_margin, sub_centers, top_k,
                         topk_margin, fallback, topk_schedule)


@LOSSES.register("intertopk_aam")
class InterTopKAAM(AAMSoftmax):
    """AAM-softmax with the inter-top-k penalty; defaults k = 5, m' = 0.06 (Zhao et al. 2022).
    WeSpeaker's arc_margin_intertopk_subcenter is sub_centers: 3, topk_schedule: wespeaker (its
    `mp` is topk_margin, `k_top` is top_k); fallback as in AAMSoftmax."""

    def __init__(self, embed_dim: int, num_classes: int, scale: float = 32.0, margin: float = 0.2,
                 easy_margin: bool = False, sub_centers: int = 1, top_k: int = 5,
                 topk_margin: float = 0.06, fallback: str = "continuous",
                 topk_schedule: str = "capped") -> None:
        super().__init__(embed_dim, num_classes, scale, margin, easy_margin, sub_centers, top_k,
                         topk_margin, fallback, topk_schedule)
