"""`build_train_data(cfg)`: the training / validation loader described by the data and augment sections.

    data = build_train_data(cfg, split="train", rank=rank, world_size=world_size)
    for epoch in range(epochs):
        data.set_epoch(epoch)
        for batch in data.loader:
            feats, labels = data.to_features(batch, device)   # [B, T, F] float32, [B] int64

Reads cfg["data"] (DataOptions), cfg["augment"] (AugmentOptions), cfg["features"] (wave mode: Kaldi
fbank options) and cfg["train"] (LoaderOptions: batch_size, num_workers, seed). Speaker ids are always
those of the training dir (sorted), so validation labels match the classifier.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from common.errors import ConfigError
from common.registry import build_options
from pytorch.data.datadir import DataDir
from pytorch.data.feats_dataset import build_feats_dataset
from pytorch.data.mixture_dataset import build_mixture_dataset
from pytorch.data.options import DataOptions, SpecAugOptions, augment_options, loader_options
from pytorch.data.samplers import RandomBatchSampler, SpeakerBalancedBatchSampler
from pytorch.data.speakers import check_known_speakers, train_speakers
from pytorch.data.specaug import spec_augment
from pytorch.data.trainset import TrainSet
from pytorch.data.wave_dataset import build_wave_dataset


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack equal-length samples: feats [B, T, F] or wave [B, N], label [B] (or [B, N]: N speakers per
    mixture), seed [B], index [B] (the dataset index, which `TrainData.utt_ids` names)."""
    key = "feats" if "feats" in items[0] else "wave"
    return {key: torch.stack([it[key] for it in items]),
            **{k: torch.tensor([it[k] for it in items], dtype=torch.int64)
               for k in ("label", "seed", "index")}}


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # workers are many; intra-op threads would oversubscribe the CPU


@dataclass
class TrainData:
    loader: DataLoader
    sampler: Any
    num_classes: int
    spk2id: dict[str, int]
    feat_dim: int
    dataset: Dataset
    features: torch.nn.Module | None = None     # fbank run in to_features (wave mode, fbank_on: device)
    apply_cmn: bool = False
    specaug: SpecAugOptions | None = None
    training: bool = True

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for `epoch`; validation data keeps epoch 0 so every epoch sees the same crops."""
        if self.training:
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def utt_ids(self, index: torch.Tensor) -> list[str]:
        """The utterances of a batch's `index` entry (for error messages)."""
        return [self.dataset.utt(int(i)) for i in index]

    def to_features(self, batch: dict[str, torch.Tensor], device: torch.device | str
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        labels = batch["label"].to(device, non_blocking=True)
        if "feats" in batch:
            return batch["feats"].to(device, non_blocking=True).float(), labels
        wave = batch["wave"].to(device, non_blocking=True)
        # One generator per batch, seeded from its first item: dither and masks are reproducible.
        seed = int(batch["seed"][0])
        dev_gen = torch.Generator(device=wave.device).manual_seed(seed)
        with torch.no_grad():
            feats = self.features(wave, generator=dev_gen)
            if self.apply_cmn:
                feats = feats - feats.mean(dim=1, keepdim=True)
            if self.specaug is not None:
                feats = spec_augment(feats, self.specaug, torch.Generator().manual_seed(seed + 1))
        return feats.float(), labels


MODES: dict[str, Callable[..., TrainSet]] = {"feats": build_feats_dataset, "wave": build_wave_dataset,
                                             "mixture": build_mixture_dataset}


def build_train_data(cfg: dict, split: str = "train", rank: int = 0, world_size: int = 1) -> TrainData:
    opts = build_options(DataOptions, cfg.get("data"), "data")
    aug = augment_options(cfg.get("augment"))
    loader_opts = loader_options(cfg.get("train"))
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    training = split == "train"
    path = opts.train if training else opts.valid
    if not path:
        raise ConfigError(f"data.{split}: no data dir configured")
    spk2id = train_speakers(opts.train)
    dd = DataDir(path)
    check_known_speakers(dd, spk2id, opts.train)
    ts = MODES[opts.mode](dd, opts, aug, spk2id, training, cfg)
    batch_size, seed = loader_opts.batch_size, loader_opts.seed
    if training and opts.sampler == "speaker_balanced":
        sampler = SpeakerBalancedBatchSampler(ts.labels, batch_size, opts.utts_per_spk, seed, rank,
                                              world_size)
    else:
        # Validation: fixed epoch 0, so every epoch is scored on the same crops.
        sampler = RandomBatchSampler(len(ts.labels), batch_size, seed, rank, world_size,
                                     drop_last=training, shuffle=training)
    # Pinned host memory lets to_features copy to the GPU asynchronously (non_blocking).
    loader = DataLoader(ts.dataset, batch_sampler=sampler, num_workers=loader_opts.num_workers,
                        collate_fn=collate, worker_init_fn=_worker_init, pin_memory=torch.cuda.is_available())
    # What to_features must still do on the device (wave mode with fbank_on: device).
    device_side = {} if ts.device_features is None else {
        "features": ts.device_features, "apply_cmn": opts.cmn,
        "specaug": aug.specaug if training and aug.specaug.prob > 0 else None}
    return TrainData(loader=loader, sampler=sampler, num_classes=len(ts.spk2id), spk2id=ts.spk2id,
                     feat_dim=ts.feat_dim, dataset=ts.dataset, training=training, **device_side)
