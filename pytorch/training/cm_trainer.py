"""Training of a spoofing countermeasure (AASIST) on raw waveforms, the best epoch chosen on dev CM EER.

Config sections (one YAML per system; see egs/sasv/conf/aasist_mini.yaml):
  data:    train, dev: data dirs with wav.scp and utt2attack (`bonafide` or an attack id)
  model:   the AASIST keys (`name: aasist`, first_conv, filts, gat_dims, ..., nb_samp)
  optim:   Adam with a per-step cosine decay from lr to lr_min (the official AASIST recipe)
  train:   epochs, batch_size, seed, class_weights [spoof, bona fide] (weighted cross-entropy for the
           class imbalance; the official [0.1, 0.9] suits LA's 1:9 bona fide:spoof), freq_mask, crop (a
           training crop shorter than the model's input), bn_recalibrate (see recalibrate_bn), ...
  augment: rawboost: none | rawboost options (pytorch.data.rawboost)

Writes <exp>/models/epoch_N.pt every epoch (model, optimiser, RNG and the best-so-far record, so a
resumed run continues exactly) and <exp>/models/best.pt ({model, epoch, dev_eer}) whenever the dev
EER does not get worse.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from common.eer import eer
from common.errors import ConfigError, FormatError
from common.io import read_kv
from common.registry import build_options
from pytorch.data.audio import AudioError, read_audio
from pytorch.data.rawboost import RawBoostOptions, rawboost
from pytorch.models.aasist import AASIST, BONAFIDE, build_aasist, fix_length
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import pick_device

log = logging.getLogger(__name__)


@dataclass
class CMDataOptions:
    train: str = ""
    dev: str = ""

    def check(self, where: str) -> None:
        for key in ("train", "dev"):
            if not getattr(self, key):
                raise ConfigError(f"{where}.{key}: a data dir with wav.scp and utt2attack is required")


@dataclass
class CMOptimOptions:
    name: str = "adam"
    lr: float = 1.0e-4
    lr_min: float = 5.0e-6
    weight_decay: float = 1.0e-4
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    amsgrad: bool = False

    _choices = {"name": ("adam",)}

    def check(self, where: str) -> None:
        if not 0 < self.lr_min <= self.lr:
            raise ConfigError(f"{where}: expected 0 < lr_min <= lr, got lr={self.lr} lr_min={self.lr_min}")


@dataclass
class CMTrainOptions:
    epochs: int = 100
    batch_size: int = 24
    num_workers: int = 0
    seed: int = 1234
    class_weights: list = field(default_factory=lambda: [0.1, 0.9])  # [spoof, bona fide]
    freq_mask: bool = True            # the official random sinc-band masking
    grad_clip: float = 0.0
    log_interval: int = 50
    device: str = "auto"
    crop: int = 0                     # training crop in samples; 0: the model's input length (nb_samp)
    bn_recalibrate: int = 0           # batch-norm statistics re-estimated on this many training batches
                                      # before each dev scoring (0: the running averages, as the official)

    _choices = {"device": ("auto", "cpu", "cuda")}

    def check(self, where: str) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.num_workers < 0 or self.log_interval < 1:
            raise ConfigError(f"{where}: epochs, batch_size and log_interval must be >= 1, num_workers >= 0")
        if self.crop < 0 or self.bn_recalibrate < 0:
            raise ConfigError(f"{where}: crop and bn_recalibrate must be >= 0")
        w = self.class_weights
        if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, (int, float)) and x > 0 for x in w)):
            raise ConfigError(f"{where}.class_weights: expected [spoof_weight, bonafide_weight] > 0, got {w!r}")


@dataclass
class CMAugmentOptions:
    rawboost: Any = None              # None/"none", or a mapping of RawBoostOptions


@dataclass
class CMConfig:
    data: CMDataOptions
    optim: CMOptimOptions
    train: CMTrainOptions
    augment: RawBoostOptions | None


def parse_config(cfg: dict, where: str = "config") -> CMConfig:
    """Check every section of a CM config (the model is checked by building it)."""
    for key in cfg:
        if key not in ("data", "model", "optim", "train", "augment", "meta"):
            raise ConfigError(f"{where}: section {key!r} is not used by CM training; "
                              "use data, model, optim, train, augment")
    aug = build_options(CMAugmentOptions, cfg.get("augment"), f"{where}: augment").rawboost
    if aug in (None, "none"):
        rb = None
    elif isinstance(aug, dict):
        rb = build_options(RawBoostOptions, aug, f"{where}: augment.rawboost")
    else:
        raise ConfigError(f"{where}: augment.rawboost: expected none or a mapping of options, got {aug!r}")
    return CMConfig(build_options(CMDataOptions, cfg.get("data"), f"{where}: data"),
                    build_options(CMOptimOptions, cfg.get("optim"), f"{where}: optim"),
                    build_options(CMTrainOptions, cfg.get("train"), f"{where}: train"), rb)


def read_cm_dir(data_dir: str) -> list[tuple[str, str, int]]:
    """(utt, wav.scp entry, label: 1 bona fide / 0 spoof) of a data dir, in wav.scp order."""
    wavs = read_kv(Path(data_dir) / "wav.scp")
    attacks = read_kv(Path(data_dir) / "utt2attack")
    missing = [u for u in wavs if u not in attacks]
    if missing:
        raise FormatError(f"{data_dir}/utt2attack: no entry for utterance {missing[0]} ({len(missing)} in all); "
                          "every wav.scp utterance needs `utt bonafide|<attack>`")
    items = [(u, spec, int(attacks[u] == "bonafide")) for u, spec in wavs.items()]
    labels = {lab for _, _, lab in items}
    if labels != {0, 1}:
        raise FormatError(f"{data_dir}/utt2attack: needs both bona fide and spoofed utterances, found only "
                          f"{'bona fide' if 1 in labels else 'spoofed'} ones")
    return items


class WaveDataset(Dataset):
    """Waveforms of a CM data dir: training items are a random `length`-sample crop (repeat-padded when
    shorter), evaluation items the first `length` samples (the official evaluation's fix_length)."""

    def __init__(self, items: Sequence[tuple[str, str, int]], length: int, rate: int, train: bool,
                 augment: RawBoostOptions | None = None) -> None:
        self.items, self.length, self.rate, self.train, self.augment = list(items), length, rate, train, augment

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        utt, spec, label = self.items[i]
        wave, rate = read_audio(spec, utt)
        if rate != self.rate or wave.ndim != 1:
            raise AudioError(f"utterance {utt}: the CM takes mono {self.rate} Hz audio, got {rate} Hz "
                             f"with shape {wave.shape}")
        wave = wave.astype(np.float32)
        if self.train:
            if len(wave) > self.length:
                start = int(torch.randint(0, len(wave) - self.length + 1, ()).item())
                wave = wave[start:start + self.length]
            if self.augment is not None:
                wave = rawboost(wave, self.rate, self.augment,
                                np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item())))
        return torch.from_numpy(np.ascontiguousarray(fix_length(wave, self.length), dtype=np.float32)), label


@torch.no_grad()
def score_waves(model: AASIST, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Bona fide logits and labels of every item of `loader`."""
    model.eval()
    scores, labels = [], []
    for wave, label in loader:
        scores.append(model(wave.to(device))[:, BONAFIDE].float().cpu().numpy())
        labels.append(label.numpy())
    return np.concatenate(scores), np.concatenate(labels)


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, loader: DataLoader, batches: int, device: torch.device) -> None:
    """Replace every batch norm's running statistics by their plain average over `batches` training batches
    (train-mode forward, no update of the weights). The running averages start at mean 0, variance 1 and
    forget it at 10% a step, but AASIST's first batch norm sees a variance near 1e-5 (the |sinc| outputs of
    speech at its usual level): for the first ~100 steps its eval-mode output is off by orders of magnitude,
    and a short run scores at chance on dev whatever it has learnt."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    try:
        for i, (wave, _) in enumerate(loader):
            if i == batches:
                break
            model(wave.to(device))
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom


def _lr(opts: CMOptimOptions, step: int, total: int) -> float:
    return opts.lr_min + 0.5 * (opts.lr - opts.lr_min) * (1 + math.cos(math.pi * min(step, total) / total))


def train_cm(cfg: dict, exp: Path, resume: Path | None, on_start: Callable[[], None] = lambda: None) -> dict:
    """Train (or continue) the CM of `cfg` in `exp`; returns the best-epoch record {epoch, dev_eer}."""
    c = parse_config(cfg)
    torch.manual_seed(c.train.seed)  # the initial weights
    model = build_aasist(cfg, "config")
    device = pick_device(c.train.device, 0)
    train_items, dev_items = read_cm_dir(c.data.train), read_cm_dir(c.data.dev)
    gen = torch.Generator()

    def loader(items: list, train: bool) -> DataLoader:
        length = (c.train.crop or model.nb_samp) if train else model.nb_samp
        ds = WaveDataset(items, length, model.sample_rate, train, c.augment if train else None)
        return DataLoader(ds, batch_size=c.train.batch_size, shuffle=train, drop_last=False,
                          num_workers=c.train.num_workers, generator=gen if train else None)
    train_dl, dev_dl = loader(train_items, True), loader(dev_items, False)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c.optim.lr, betas=tuple(c.optim.betas),
                           weight_decay=c.optim.weight_decay, amsgrad=c.optim.amsgrad)
    weights = torch.tensor(c.train.class_weights, dtype=torch.float32, device=device)
    best = {"epoch": 0, "dev_eer": math.inf}
    start = 0
    if resume is not None:
        state = ckpt_io.load_checkpoint(resume)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, best = int(state["epoch"]), dict(state["best"])
        ckpt_io.restore_rng(state["rng"])
        log.info("resumed from %s (epoch %d, best dev EER %.3f%% at epoch %d)", resume, start,
                 best["dev_eer"], best["epoch"])
    on_start()
    n_bona = sum(lab for _, _, lab in train_items)
    log.info("CM training: %d train utterances (%d bona fide), %d dev; %d parameters; device %s",
             len(train_items), n_bona, len(dev_items), sum(p.numel() for p in model.parameters()), device)
    total = c.train.epochs * len(train_dl)
    for epoch in range(start + 1, c.train.epochs + 1):
        np_seed = np.random.SeedSequence([c.train.seed, epoch]).generate_state(1)[0]
        torch.manual_seed(int(np_seed))
        gen.manual_seed(int(np_seed))
        model.train()
        t0, loss_sum, n = time.perf_counter(), 0.0, 0
        for i, (wave, label) in enumerate(train_dl):
            step = (epoch - 1) * len(train_dl) + i
            for g in opt.param_groups:
                g["lr"] = _lr(c.optim, step, total)
            logits = model(wave.to(device), freq_mask=c.train.freq_mask)
            loss = F.cross_entropy(logits, label.to(device), weight=weights)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch} step {i + 1}: the loss became {loss.item()}; "
                                         "lower optim.lr or set train.grad_clip")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if c.train.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), c.train.grad_clip)
            opt.step()
            loss_sum, n = loss_sum + loss.item() * len(label), n + len(label)
            if (i + 1) % c.train.log_interval == 0:
                log.info("epoch %d step %d/%d loss %.4f", epoch, i + 1, len(train_dl), loss_sum / n)
        if c.train.bn_recalibrate:
            recalibrate_bn(model, train_dl, c.train.bn_recalibrate, device)
        scores, labels = score_waves(model, dev_dl, device)
        dev_eer = 100.0 * eer(scores, labels == 1)
        improved = dev_eer <= best["dev_eer"]
        if improved:
            best = {"epoch": epoch, "dev_eer": dev_eer}
            ckpt_io.save_checkpoint({"model": model.state_dict(), **best}, ckpt_io.models_dir(exp) / "best.pt")
        ckpt_io.save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                                 "best": best, "rng": ckpt_io.capture_rng()}, ckpt_io.epoch_path(exp, epoch))
        log.info("epoch %d: train loss %.4f, dev CM EER %.3f%%%s (%.1f s)", epoch, loss_sum / max(n, 1), dev_eer,
                 " (best)" if improved else f", best {best['dev_eer']:.3f}% at epoch {best['epoch']}",
                 time.perf_counter() - t0)
    return best
