"""Config-driven training: stages, optimiser and schedule, DDP, per-epoch checkpoints and resume.

    trainer = Trainer(cfg, "exp/x", init_distributed(...), progress=...)
    trainer.run(resume=Path("exp/x/models/epoch_3.pt") or None)

Every epoch starts by seeding torch/numpy/random from (train.seed, epoch, rank), and the data
order depends on (seed, epoch) only, so a run resumed from epoch_N.pt reproduces the
uninterrupted run exactly, even across stage boundaries; the RNG states are saved as well.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from common.errors import ConfigError
from common.registry import build_options
from pytorch.data.builder import build_train_data
from pytorch.data.datadir import DataDir
from pytorch.data.options import DataOptions, LoaderOptions
from pytorch.data.speakers import train_speakers
from pytorch.losses import MarginScheduleOptions, MarginScheduler, build_loss
from pytorch.models import build_model
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import DistInfo, barrier
from pytorch.training.loop import AMP_DTYPES, Progress, SpeakerNet, StepContext, train_epoch, validate
from pytorch.training.optim import build_optimizer
from pytorch.training.schedulers import build_scheduler
from pytorch.training.stages import Stage, plan_stages, stage_of, total_epochs
from pytorch.training.warm_start import InitOptions, warm_start

log = logging.getLogger(__name__)


@dataclass
class TrainOptions(LoaderOptions):
    """The `train` section (batch_size, num_workers and seed come from LoaderOptions, which the data
    builder reads)."""
    epochs: int = 10
    grad_clip: float = 0.0            # max global grad norm; 0 = off
    amp: str = "none"                 # none | bf16 | fp16 (autocast on GPU; fp16 adds a GradScaler)
    average_last: int = 0             # after training, average the last N epochs into models/avg.pt
    margin_scheduler: MarginScheduleOptions | None = None
    log_interval: int = 50            # steps between train.log lines
    device: str = "auto"              # auto | cpu | cuda
    init: InitOptions | None = None   # warm start from another run's checkpoint (pytorch/training/warm_start.py)

    _choices = {"amp": tuple(AMP_DTYPES), "device": ("auto", "cpu", "cuda")}
    _nested = {"margin_scheduler": MarginScheduleOptions, "init": InitOptions}

    def check(self, where: str) -> None:
        super().check(where)
        for key, low in (("epochs", 0), ("average_last", 0), ("log_interval", 1)):
            val = getattr(self, key)
            if isinstance(val, bool) or not isinstance(val, int) or val < low:
                raise ConfigError(f"{where}.{key}: expected an integer >= {low}, got {val!r}")
        if not isinstance(self.grad_clip, (int, float)) or self.grad_clip < 0:
            raise ConfigError(f"{where}.grad_clip: expected a number >= 0 (0 = off), got {self.grad_clip!r}")


def train_options(cfg: dict) -> TrainOptions:
    section = dict(cfg.get("train") or {})
    for key in ("margin_scheduler", "init"):
        if section.get(key) is None:
            section.pop(key, None)
    if isinstance(section.get("margin_scheduler"), dict) and "final" in section["margin_scheduler"]:
        raise ConfigError("train.margin_scheduler: remove 'final': the margin warms up to loss.margin, so "
                          "a large-margin stage that sets loss.margin is obeyed")
    return build_options(TrainOptions, section, "train")


def seed_epoch(seed: int, epoch: int, rank: int) -> None:
    s = np.random.SeedSequence([seed, epoch, rank]).generate_state(2)
    torch.manual_seed(int(s[0]))
    np.random.seed(int(s[1]))
    random.seed(int(s[0]) ^ int(s[1]))


def _config_hyperparameters(optimizer: torch.optim.Optimizer, optim_cfg: dict) -> None:
    """A loaded optimiser state brings back the hyperparameters it was saved with; the config's win
    (identical on a plain resume; after --force they follow the new config). lr0 goes to
    initial_lr, from which a per-step schedule recomputes the current lr."""
    for g in optimizer.param_groups:
        for key, value in optim_cfg.items():
            if key == "lr":
                g["initial_lr"] = value
            elif key != "name" and key in g:
                g[key] = tuple(value) if isinstance(g[key], tuple) else value


@dataclass
class Trainer:
    cfg: dict
    exp: Path
    dist: DistInfo = field(default_factory=DistInfo)
    progress: Progress | None = None
    data_builder: Callable[[dict, str, int, int], Any] = build_train_data
    model_builder: Callable[[dict], torch.nn.Module] = build_model
    # Called once before the first epoch trains (after its data, model and optimiser were built
    # and checked) or before averaging: bin/train writes the exp dir only then.
    on_start: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.exp = Path(self.exp)
        self.plan = plan_stages(self.cfg)
        self.opts = train_options(self.cfg)
        for st in self.plan[1:]:
            train_options(st.cfg)            # a typo in a stage's train.* fails now, not hours later
        self.net: SpeakerNet | None = None
        self.wrapped: torch.nn.Module | None = None    # self.net, or DDP around it
        self.ctx: StepContext | None = None
        self.group = -1
        self.num_classes = 0

    # ---- building ----------------------------------------------------------------------------
    def check(self) -> None:
        """Build what every stage describes (model, loss, optimiser, schedule) and check its data
        dirs, without reading features: a typo fails before the exp dir is written, and a later
        stage's typo does not wait hours for its stage to start."""
        for section in ("model", "loss", "optim"):
            if not isinstance(self.cfg.get(section), dict):
                raise ConfigError(f"the config has no {section}: section; add one (e.g. as in egs/mini/conf)")
        model = self.model_builder(self.cfg["model"])
        if self.opts.init is not None:
            warm_start(model, self.opts.init)    # the checkpoint must fit before anything is written
        speakers: dict[str, int] = {}
        for st in self.plan:
            opts: DataOptions = build_options(DataOptions, st.cfg.get("data"), "data")
            if opts.train not in speakers:
                speakers[opts.train] = len(train_speakers(opts.train))
            if opts.valid:
                DataDir(opts.valid)
            loss = build_loss(st.cfg["loss"], model.embed_dim, speakers[opts.train])
            optimizer = build_optimizer(st.cfg["optim"], [*model.parameters(), *loss.parameters()])
            build_scheduler(st.cfg.get("scheduler"), optimizer, 1, max(st.epochs, 1))

    def _started(self) -> None:
        if self.on_start is not None:
            self.on_start()
            self.on_start = None

    def _check_data(self, data: Any, where: str) -> None:
        feat_dim = self.cfg["model"].get("feat_dim")
        if data.feat_dim != feat_dim:
            raise ConfigError(f"{where}: the data has {data.feat_dim}-dim features but model.feat_dim is "
                              f"{feat_dim}; set model.feat_dim: {data.feat_dim} or use matching features")
        if self.num_classes and data.num_classes != self.num_classes:
            raise ConfigError(f"{where}: data.train has {data.num_classes} speakers, earlier stages had "
                              f"{self.num_classes}; a stage cannot change the training speakers")
        self.num_classes = data.num_classes

    def _build_net(self, stage: Stage, num_classes: int) -> SpeakerNet:
        seed_epoch(self.opts.seed, 0, 0)     # identical initial weights on every rank
        model = self.model_builder(self.cfg["model"])
        loss = build_loss(stage.cfg["loss"], model.embed_dim, num_classes)
        amp = AMP_DTYPES[self.opts.amp]
        if amp is not None and self.dist.device.type != "cuda":
            log.warning("train.amp: %s needs a GPU; training in float32 on the CPU", self.opts.amp)
            amp = None
        return SpeakerNet(model, loss, amp).to(self.dist.device)

    def _rebuild_loss(self, stage: Stage) -> None:
        new = build_loss(stage.cfg["loss"], self.net.model.embed_dim, self.num_classes)
        try:
            new.load_state_dict(self.net.loss.state_dict())
        except RuntimeError:
            raise ConfigError(f"stages: stage {stage.name!r} changes the loss to one with other classifier "
                              "weights (e.g. sub_centers); keep the loss type across stages") from None
        self.net.loss = new.to(self.dist.device)

    def _wrap(self) -> torch.nn.Module:
        """DDP around the net, made once (and again only when the loss, and so the parameters, change)."""
        self.wrapped = None                    # drop the old DDP first: its reducer hooks go with it
        if self.ctx is not None:
            self.ctx.net = None
        if not self.dist.enabled:
            return self.net
        ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
        return DistributedDataParallel(self.net, device_ids=ids)

    def _start_group(self, stage: Stage, steps_per_epoch: int, resume: dict | None) -> None:
        if self.ctx is not None and stage.new_loss:
            self._rebuild_loss(stage)
            self.wrapped = self._wrap()
        if self.wrapped is None:
            self.wrapped = self._wrap()
        opts = train_options(stage.cfg)
        optimizer = build_optimizer(stage.cfg["optim"], self.net.parameters())
        span = sum(s.epochs for s in self.plan if s.group == stage.group)
        scheduler = build_scheduler(stage.cfg.get("scheduler"), optimizer, steps_per_epoch, span)
        use_scaler = self.net.amp_dtype == torch.float16
        scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        step = self.ctx.step if self.ctx else 0
        if resume is not None:
            step = resume["step"]
            if stage_of(self.plan, resume["epoch"]).group == stage.group:
                optimizer.load_state_dict(resume["optimizer"])
                _config_hyperparameters(optimizer, stage.cfg["optim"])
                scheduler.load_state_dict(self._scheduler_state(resume, stage, scheduler, steps_per_epoch))
                if scaler is not None and resume.get("scaler"):
                    scaler.load_state_dict(resume["scaler"])
        self.ctx = StepContext(net=self.wrapped, core=self.net, optimizer=optimizer, scheduler=scheduler,
                               scaler=scaler, dist=self.dist, step=step)
        self.group = stage.group
        self._stage_options(stage, opts)

    def _scheduler_state(self, resume: dict, stage: Stage, scheduler: Any, steps_per_epoch: int) -> dict:
        """The saved schedule state; when the global batch changed since (e.g. a run resumed on fewer
        GPUs), a per-step schedule is placed by epochs done, so it keeps its shape over the epochs."""
        state = dict(resume["scheduler"])
        batch = train_options(stage_of(self.plan, resume["epoch"]).cfg).batch_size * self.dist.world_size
        saved = resume.get("global_batch", batch)
        if saved != batch and not scheduler.per_epoch:
            first = min(s.first_epoch for s in self.plan if s.group == stage.group)
            state["last_epoch"] = (resume["epoch"] - first + 1) * steps_per_epoch
            log.warning("resuming with a global batch of %d (train.batch_size x %d processes); the "
                        "checkpoint was trained with %d: the learning-rate schedule continues from "
                        "epoch %d at %d steps per epoch", batch, self.dist.world_size, saved,
                        resume["epoch"], steps_per_epoch)
        return state

    def _stage_options(self, stage: Stage, opts: TrainOptions) -> None:
        ctx = self.ctx
        ctx.grad_clip, ctx.log_interval = float(opts.grad_clip), opts.log_interval
        ctx.margin = float(stage.cfg["loss"].get("margin", 0.0))
        ms = opts.margin_scheduler
        ctx.margin_schedule = (MarginScheduler.from_options(ctx.margin, ms)
                               if ms is not None else None)
        self.net.loss.set_margin(ctx.margin)

    # ---- checkpoints ---------------------------------------------------------------------------
    def _save(self, epoch: int, stage: Stage) -> None:
        state = {"model": self.net.model.state_dict(), "loss": self.net.loss.state_dict(),
                 "optimizer": self.ctx.optimizer.state_dict(), "scheduler": self.ctx.scheduler.state_dict(),
                 "scaler": self.ctx.scaler.state_dict() if self.ctx.scaler else None,
                 "epoch": epoch, "step": self.ctx.step, "stage": stage.index,
                 "global_batch": train_options(stage.cfg).batch_size * self.dist.world_size,
                 "rng": {**ckpt_io.capture_rng(), "data_seed": self.opts.seed, "data_epoch": epoch},
                 "config": self.cfg}
        if self.dist.is_main:
            ckpt_io.save_checkpoint(state, ckpt_io.epoch_path(self.exp, epoch))
        barrier(self.dist)

    def _load_resume(self, path: Path) -> dict:
        state = ckpt_io.load_checkpoint(path)
        for key in ("model", "loss", "optimizer", "scheduler", "epoch", "step"):
            if key not in state:
                raise ckpt_io.CheckpointError(f"{path}: not a training checkpoint (no {key!r}); "
                                              "resume from an epoch_N.pt")
        if state["epoch"] > total_epochs(self.plan):
            raise ckpt_io.CheckpointError(f"{path}: epoch {state['epoch']} is past the "
                                          f"{total_epochs(self.plan)} "
                                          "epochs of the config")
        return state

    # ---- the run -------------------------------------------------------------------------------
    def run(self, resume: Path | None = None) -> None:
        state = self._load_resume(resume) if resume is not None else None
        done = state["epoch"] if state else 0
        if state:
            log.info("resuming from %s (epoch %d, step %d)", resume, done, state["step"])
        last = total_epochs(self.plan)
        for stage in self.plan:
            if stage.last_epoch <= done or stage.epochs == 0:
                continue
            self._run_stage(stage, done, state)
            state = None                       # optimiser state is loaded once, into its group
        self._started()                        # nothing left to train: config.yaml is still rewritten
        avg = ckpt_io.models_dir(self.exp) / "avg.pt"
        if done >= last:
            log.info("all %d epochs are already trained", last)
            # A rerun of a finished run keeps avg.pt (and so whatever was exported or extracted from
            # it); `python -m pytorch.bin.average` redoes it on purpose.
            if avg.exists() and all(avg.stat().st_mtime >= p.stat().st_mtime
                                    for _, p in ckpt_io.list_epochs(self.exp)):
                log.info("%s is up to date", avg)
                return
        if self.opts.average_last > 0 and self.dist.is_main:
            ckpt_io.average_last(self.exp, self.opts.average_last)
        barrier(self.dist)

    def _run_stage(self, stage: Stage, done: int, resume: dict | None) -> None:
        where = f"stage {stage.name!r}" if stage.index else "training"
        data = self.data_builder(stage.cfg, "train", self.dist.rank, self.dist.world_size)
        self._check_data(data, where)
        valid = None
        if (stage.cfg.get("data") or {}).get("valid"):
            valid = self.data_builder(stage.cfg, "valid", self.dist.rank, self.dist.world_size)
        if self.net is None:
            self.net = self._build_net(stage, data.num_classes)
            if resume is not None:
                self.net.model.load_state_dict(resume["model"])
                self.net.loss.load_state_dict(resume["loss"])
                ckpt_io.restore_rng(resume["rng"])
            elif self.opts.init is not None:
                n = warm_start(self.net.model, self.opts.init)
                log.info("initialised %d of the model's %d tensors from %s (prefix %r)", n,
                         len(self.net.model.state_dict()), self.opts.init.checkpoint, self.opts.init.prefix)
        if stage.group != self.group:
            self._start_group(stage, len(data.loader), resume)
        else:
            self._stage_options(stage, train_options(stage.cfg))
        log.info("stage %d %r: epochs %d-%d, %d batches/epoch of %d x %d, %d speakers, lr %.3g",
                 stage.index, stage.name, stage.first_epoch, stage.last_epoch, len(data.loader),
                 train_options(stage.cfg).batch_size, self.dist.world_size, data.num_classes,
                 self.ctx.optimizer.param_groups[0]["lr"])
        self._started()
        for epoch in range(max(stage.first_epoch, done + 1), stage.last_epoch + 1):
            seed_epoch(self.opts.seed, epoch, self.dist.rank)
            desc = f"epoch {epoch}/{total_epochs(self.plan)}"
            tr = train_epoch(self.ctx, data, epoch, self.progress, desc)
            line = (f"epoch {epoch}/{total_epochs(self.plan)} ({stage.name}): train loss {tr.loss:.4f} "
                    f"acc {100 * tr.acc:.2f}%")
            metric = tr.loss
            if valid is not None:
                va = validate(self.ctx, valid)
                metric = va.loss
                line += f" | valid loss {va.loss:.4f} acc {100 * va.acc:.2f}%"
            self.ctx.scheduler.step_epoch(metric)
            lr = self.ctx.optimizer.param_groups[0]["lr"]
            log.info("%s | lr %.3g margin %.3f | %.1f s, %.1f samples/s", line, lr, self.net.loss.margin,
                     tr.seconds, tr.rate)
            self._save(epoch, stage)
