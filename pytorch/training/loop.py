"""One epoch of training and one pass of validation, with AMP, gradient clipping and margin warm-up."""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
from torch import nn

from common.errors import AsvError, FormatError
from pytorch.losses import MarginScheduler
from pytorch.training.distributed import DistInfo, all_sum

log = logging.getLogger(__name__)

# progress(iterable, total, description) -> iterable; bin/train.py passes a tqdm wrapper on rank 0.
Progress = Callable[[Iterable, int, str], Iterable]
AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class DivergedError(AsvError, FloatingPointError):
    """The loss became NaN or inf although the input was finite."""


class SpeakerNet(nn.Module):
    """Embedding model + classification loss as one module, so DDP syncs both sets of gradients.
    The model runs under autocast (when enabled); the margin loss always runs in float32."""

    def __init__(self, model: nn.Module, loss: nn.Module, amp_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.model, self.loss = model, loss
        self.amp_dtype = amp_dtype

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.amp_dtype)

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.autocast(feats.device):
            emb = self.model(feats)
        loss, logits = self.loss(emb.float(), labels)
        cosine = getattr(self.loss, "cosine", None)
        if cosine is not None:
            # Accuracy from the plain cosines: the margin logits handicap the target by cos(θ+m), which
            # while the target cosines are still small reads as below-chance accuracy of a model that
            # is learning (egs/mini/README.md, "Augmentation").
            with torch.no_grad():
                logits = cosine(emb.detach().float())
        return loss, logits


@dataclass
class EpochStats:
    loss: float
    acc: float
    samples: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


@dataclass
class StepContext:
    """Everything an epoch needs besides the data; built per stage by the trainer."""
    net: nn.Module                     # SpeakerNet, or DDP around it
    core: SpeakerNet                   # the unwrapped net (set_margin, state dicts)
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None
    dist: DistInfo
    grad_clip: float = 0.0
    margin: float = 0.0                # the stage's loss.margin (final value of the schedule)
    margin_schedule: MarginScheduler | None = None
    log_interval: int = 50
    step: int = 0                      # optimiser steps done, over all epochs and stages


def hits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Correctly classified samples: logits [B, C] with labels [B], or [B, C, N] with labels [B, N]
    (N speakers per sample, e.g. the PIT loss), where each label counts 1/N."""
    hit = (logits.argmax(dim=1) == labels).double()
    return hit.reshape(hit.shape[0], -1).mean(dim=1).sum()


def _lr(optimizer: torch.optim.Optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


def train_epoch(ctx: StepContext, data: Any, epoch: int, progress: Progress | None = None,
                desc: str = "") -> EpochStats:
    """Train over data.loader once; `epoch` is 1-based and global (for the margin schedule)."""
    ctx.net.train()
    data.set_epoch(epoch)
    n = len(data.loader)
    device = ctx.dist.device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    nonfinite = torch.zeros((), dtype=torch.bool, device=device)
    # Per step since the last check: (dataset indices, finite-input flag per sample), kept on the
    # device so that no step waits for the GPU; read only when the loss turned out non-finite.
    inputs: list[tuple[torch.Tensor | None, torch.Tensor]] = []
    count, start = 0, time.perf_counter()
    batches = progress(data.loader, n, desc) if progress else data.loader
    for i, batch in enumerate(batches):
        feats, labels = data.to_features(batch, device)
        if ctx.margin_schedule is not None:
            ctx.core.loss.set_margin(ctx.margin_schedule(epoch - 1 + i / n))
        loss, logits = ctx.net(feats, labels)
        nonfinite |= ~torch.isfinite(loss.detach())   # checked at the sync points below, not every step
        # A NaN or inf anywhere in a sample makes its sum non-finite; a sum is ~30x cheaper than isfinite.
        inputs.append((batch.get("index"), torch.isfinite(feats.detach().float().sum(dim=(1, 2)))))
        ctx.optimizer.zero_grad(set_to_none=True)
        if ctx.scaler is not None:
            ctx.scaler.scale(loss).backward()
            ctx.scaler.unscale_(ctx.optimizer)
        else:
            loss.backward()
        if ctx.grad_clip > 0:
            nn.utils.clip_grad_norm_(ctx.core.parameters(), ctx.grad_clip)
        if ctx.scaler is not None:
            ctx.scaler.step(ctx.optimizer)
            ctx.scaler.update()
        else:
            ctx.optimizer.step()
        ctx.scheduler.step_iter()
        ctx.step += 1
        b = labels.shape[0]
        loss_sum += loss.detach().double() * b
        correct += hits(logits.detach(), labels)
        count += b
        need_log = ctx.step % ctx.log_interval == 0
        need_bar = hasattr(batches, "set_postfix") and (i % 10 == 0 or i == n - 1)
        if need_log or i == n - 1:
            if bool(nonfinite):
                _raise_nonfinite(data, inputs, epoch, ctx.step)
            inputs.clear()
        if ctx.dist.is_main and (need_log or need_bar):     # .item() syncs the GPU: not every step
            shown = {"loss": f"{loss_sum.item() / count:.3f}", "acc": f"{100 * correct.item() / count:.1f}%",
                     "lr": f"{_lr(ctx.optimizer):.2e}", "margin": f"{ctx.core.loss.margin:.3f}"}
            if need_bar:
                batches.set_postfix(shown, refresh=False)
            if need_log:
                log.info("epoch %d step %d (%d/%d): %s", epoch, ctx.step, i + 1, n,
                         " ".join(f"{k} {v}" for k, v in shown.items()))
    total_loss, total_correct, total = all_sum(ctx.dist, [loss_sum.item(), float(correct.item()),
                                                          float(count)])
    if total == 0:
        raise ValueError("the training loader gave no batch: fewer utterances than train.batch_size x "
                         "world size; lower train.batch_size")
    return EpochStats(total_loss / total, total_correct / total, int(total), time.perf_counter() - start)


def _raise_nonfinite(data: Any, inputs: list[tuple[torch.Tensor | None, torch.Tensor]], epoch: int,
                     step: int) -> NoReturn:
    """A non-finite loss: blame the input when some sample since the last check was not finite
    (naming its utterances), the optimisation otherwise."""
    bad: list[str] = []
    for index, finite in inputs:
        rows = torch.nonzero(~finite).flatten().tolist()
        if rows and index is not None and hasattr(data, "utt_ids"):
            names = data.utt_ids(index)
            bad += [names[r] for r in rows]
        elif rows:
            bad += ["<unknown utterance>"] * len(rows)
    if bad:
        shown = ", ".join(dict.fromkeys(bad[:5]))
        raise FormatError(f"epoch {epoch}: the loss became NaN or inf by step {step} because the input "
                          f"features are not finite (NaN or inf) for utterance(s) {shown}"
                          f"{f' ({len(bad)} samples)' if len(bad) > 5 else ''}; recompute their features or "
                          "remove them from the data dir")
    raise DivergedError(f"epoch {epoch}: the loss became NaN or inf by step {step} with finite input "
                        "features; lower optim.lr, set train.grad_clip, or use train.amp: bf16 instead "
                        "of fp16")


@torch.no_grad()
def validate(ctx: StepContext, data: Any) -> EpochStats:
    """Loss and accuracy at margin 0 (plain scaled-cosine softmax): comparable across epochs
    while the margin warms up, and what the plateau scheduler should look at."""
    ctx.net.eval()
    data.set_epoch(0)
    device = ctx.dist.device
    margin = ctx.core.loss.margin
    ctx.core.loss.set_margin(0.0)
    loss_sum, correct, count, start = 0.0, 0, 0, time.perf_counter()
    try:
        for batch in data.loader:
            feats, labels = data.to_features(batch, device)
            loss, logits = ctx.core(feats, labels)     # no DDP sync needed without backward
            loss_sum += loss.item() * labels.shape[0]
            correct += float(hits(logits, labels))
            count += labels.shape[0]
    finally:
        ctx.core.loss.set_margin(margin)
    total_loss, total_correct, total = all_sum(ctx.dist, [loss_sum, float(correct), float(count)])
    if total == 0:
        raise ValueError("the validation loader gave no batch; use a larger data.valid or a smaller "
                         "train.batch_size")
    return EpochStats(total_loss / total, total_correct / total, int(total), time.perf_counter() - start)
