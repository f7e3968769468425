"""`build_train_data(cfg)`: the training / validation loader described by the data and augment sections.

    data = build_train_data(cfg, split="train", rank=rank, world_size=world_size)
    for epoch in range(epochs):
        data.set_epoch(epoch)
        for batch in data.loader:
            feats, labels = data.to_features(batch, device)   # [B, T, F] float32, [B] int64

Reads cfg["data"] (DataOptions), cfg["augment"] (AugmentOptions), cfg["features"] (wave mode: Kaldi
fbank options) and cfg["train"] (batch_size, num_workers, seed). Speaker ids are always those of
the training dir (sorted), so validation labels match the classifier.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from common.errors import ConfigError, FormatError
from pytorch.data.datadir import DataDir
from pytorch.data.featreader import FeatReader
from pytorch.data.feats_dataset import FeatsChunkDataset, build_feats_index
from pytorch.data.options import AugmentOptions, DataOptions, SpecAugOptions, augment_options, from_dict
from pytorch.data.samplers import RandomBatchSampler, SpeakerBalancedBatchSampler
from pytorch.data.specaug import spec_augment

log = logging.getLogger(__name__)


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack equal-length samples: feats [B, T, F] or wave [B, N], label [B], seed [B]."""
    key = "feats" if "feats" in items[0] else "wave"
    return {key: torch.stack([it[key] for it in items]),
            "label": torch.tensor([it["label"] for it in items], dtype=torch.int64),
            "seed": torch.tensor([it["seed"] for it in items], dtype=torch.int64)}


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
    extra: dict = field(default_factory=dict)

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for `epoch`; validation data keeps epoch 0 so every epoch sees the same crops."""
        if self.training:
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

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


def train_speakers(opts: DataOptions) -> dict[str, int]:
    """Speaker -> class index from the training dir's utt2spk (sorted, so ids are stable)."""
    if not opts.train:
        raise ConfigError("data.train: the training data dir is required")
    return {s: i for i, s in enumerate(sorted(set(DataDir(opts.train).utt2spk.values())))}


def check_speakers(spk2id: dict[str, int], labels: np.ndarray, where: str, hint: str) -> None:
    """Every speaker must keep at least one utterance, or its class could never be trained."""
    present = np.zeros(len(spk2id), dtype=bool)
    present[labels] = True
    if not present.all():
        names = sorted(spk2id, key=spk2id.get)
        spk = names[int(np.flatnonzero(~present)[0])]
        raise FormatError(f"{where}: speaker {spk!r} has no usable utterances ({int((~present).sum())} such "
                          f"speakers); {hint}")


def _feats_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                   training: bool, cfg: dict) -> tuple[Dataset, np.ndarray, int, dict[str, int], dict]:
    if aug.wave_level and training:
        raise ConfigError("augment: noise/music/babble/reverb/speed work on waveforms and need "
                          "data.mode: wave "
                          "(in feats mode augment the data dirs before feature extraction)")
    if not dd.has("feats.scp"):
        raise FormatError(f"{dd.file('feats.scp')}: missing; run feature extraction (stage 1) or set "
                          "data.mode: wave")
    reader = FeatReader(dd.table("feats.scp"), str(dd.file("feats.scp")))
    index = build_feats_index(dd, spk2id, reader, opts.use_vad, opts.min_frames)
    if not index.utts:
        raise FormatError(f"{dd.path}: no utterance has at least data.min_frames={opts.min_frames} frames")
    if training:
        check_speakers(spk2id, index.labels, str(dd.path),
                       f"lower data.min_frames ({opts.min_frames}) or remove the speaker from the data dir")
    dropped = len(dd.utts) - len(index.utts)
    if dropped:
        log.info("%s: dropped %d utterances with fewer than %d frames", dd.path, dropped,
                 max(opts.min_frames, 1))
    ds = FeatsChunkDataset(reader, index, opts.num_frames, opts.short_utt, opts.cmn,
                           aug.specaug if training else None)
    return ds, index.labels, index.infos[0].cols, spk2id, {}


def _wave_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                  training: bool, cfg: dict) -> tuple[Dataset, np.ndarray, int, dict[str, int], dict]:
    from pytorch.data.wave_dataset import build_wave_dataset  # needs the audio readers
    return build_wave_dataset(dd, opts, aug, spk2id, training, cfg)


MODES: dict[str, Callable[..., tuple]] = {"feats": _feats_dataset, "wave": _wave_dataset}


def build_train_data(cfg: dict, split: str = "train", rank: int = 0, world_size: int = 1) -> TrainData:
    opts: DataOptions = from_dict(DataOptions, cfg.get("data"), "data")
    aug = augment_options(cfg.get("augment"))
    train = cfg.get("train") or {}
    batch_size, num_workers, seed = (int(train.get("batch_size", 32)), int(train.get("num_workers", 0)),
                                     int(train.get("seed", 0)))
    if split not in ("train", "valid"):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    training = split == "train"
    path = opts.train if training else opts.valid
    if not path:
        raise ConfigError(f"data.{split}: no data dir configured")
    spk2id = train_speakers(opts)
    dd = DataDir(path)
    unknown = sorted(set(dd.utt2spk.values()) - set(spk2id))
    if unknown:
        raise FormatError(f"{dd.path}/utt2spk: speaker {unknown[0]!r} is not in the training dir "
                          f"{opts.train}; "
                          "validation utterances must come from training speakers")
    dataset, labels, feat_dim, spk2id, extra = MODES[opts.mode](dd, opts, aug, spk2id, training, cfg)
    if training and opts.sampler == "speaker_balanced":
        sampler = SpeakerBalancedBatchSampler(labels, batch_size, opts.utts_per_spk, seed, rank, world_size)
    else:
        # Validation: fixed epoch 0, so every epoch is scored on the same crops.
        sampler = RandomBatchSampler(len(labels), batch_size, seed, rank, world_size,
                                     drop_last=training, shuffle=training)
    # Pinned host memory lets to_features copy to the GPU asynchronously (non_blocking).
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate,
                        worker_init_fn=_worker_init, pin_memory=torch.cuda.is_available())
    return TrainData(loader=loader, sampler=sampler, num_classes=len(spk2id), spk2id=spk2id,
                     feat_dim=feat_dim, dataset=dataset, training=training, extra=extra,
                     **_device_side(extra, opts, aug, training))


def _device_side(extra: dict, opts: DataOptions, aug: AugmentOptions, training: bool) -> dict:
    """What to_features must still do on the device (wave mode with fbank_on: device)."""
    if "device_features" not in extra:
        return {}
    return {"features": extra["device_features"], "apply_cmn": opts.cmn,
            "specaug": aug.specaug if training and aug.specaug.prob > 0 else None}
