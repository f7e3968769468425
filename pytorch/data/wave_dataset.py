"""Training segments from raw audio: read a random piece, speed-perturb, augment, then fbank.

Fbank runs here (in the DataLoader workers, `data.fbank_on: cpu`) or later on the accelerator in
TrainData.to_features (`fbank_on: device`, the item is then the augmented waveform). Speed
perturbation makes new speakers, Kaldi style: speed k of speaker s is class s + k * num_speakers.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import torch
from torch.utils.data import Dataset

from common.errors import ConfigError
from pytorch.data.audio import AudioError, SourceLoader, WaveEntry, is_pipe, read_range, wave_entries
from pytorch.data.augment import Augmenter, AugmentSources, change_speed
from pytorch.data.chunks import cmn, concat_clips, repeat_pad
from pytorch.data.datadir import DataDir
from pytorch.data.options import AugmentOptions, DataOptions
from pytorch.data.sources import load_sources
from pytorch.data.speakers import check_kept, group_by_speaker, other_clips, speed_speakers
from pytorch.data.specaug import spec_augment
from pytorch.data.trainset import TrainSet
from pytorch.features import from_config

log = logging.getLogger(__name__)


class WaveChunkDataset(Dataset):
    def __init__(self, entries: list[WaveEntry], labels: np.ndarray, num_samples: int, rate: int,
                 num_speakers: int, aug: AugmentOptions, augmenter: Augmenter | None,
                 features: torch.nn.Module,
                 fbank_on_cpu: bool, apply_cmn: bool, short_utt: str, allow_truncated: bool = False) -> None:
        self.entries = entries
        self.labels = labels
        self.num_samples = num_samples
        self.rate = rate
        self.num_speakers = num_speakers
        self.aug = aug
        self.augmenter = augmenter
        self.features = features
        self.fbank_on_cpu = fbank_on_cpu
        self.apply_cmn = apply_cmn
        self.short_utt = short_utt
        self.allow_truncated = allow_truncated
        self.by_spk = group_by_speaker(labels)  # for concatenating short clips of one speaker
        self.sizes = np.array([e.num_samples for e in entries])

    def __len__(self) -> int:
        return len(self.entries)

    def utt(self, i: int) -> str:
        return self.entries[i].utt

    def _read(self, i: int, start: int, length: int | None) -> np.ndarray:
        e = self.entries[i]
        if length is None:
            length = e.num_samples - start
        return read_range(e.rspec, e.offset + start, length, e.utt, self.rate, self.allow_truncated)

    def _segment(self, i: int, length: int, rng: np.random.Generator) -> np.ndarray:
        n = self.entries[i].num_samples
        x = self._read(i, int(rng.integers(0, n - length + 1)), length) if n >= length else None
        if x is None or x.size < length:  # a short clip, or less audio than utt2dur says (truncated)
            x = self._read(i, 0, None)
        if x.size == 0:
            raise AudioError(f"utterance {self.entries[i].utt}: no audio in {self.entries[i].rspec!r}")
        if x.size < length and self.short_utt == "concat":
            others = other_clips(self.by_spk, self.labels, i)
            return concat_clips(x, length, others, self.sizes, self._read, rng)
        return repeat_pad(x, length)

    def __getitem__(self, item: tuple[int, int]) -> dict:
        i, seed = item
        rng = np.random.default_rng(seed)
        label = int(self.labels[i])
        speed = 1.0
        if self.aug.speed.prob > 0 and self.augmenter is not None and rng.random() < self.aug.speed.prob:
            k = int(rng.integers(len(self.aug.speed.speeds)))
            speed = float(self.aug.speed.speeds[k])
            label += (k + 1) * self.num_speakers
        need = math.ceil(self.num_samples * speed) + 2 if speed != 1.0 else self.num_samples
        wave = change_speed(self._segment(i, need, rng), speed)
        wave = repeat_pad(wave, self.num_samples)
        if self.augmenter is not None and self.augmenter.active:
            wave, _ = self.augmenter(wave, rng)
        wave_t = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32) * 32768.0)
        if not self.fbank_on_cpu:
            return {"wave": wave_t, "label": label, "seed": seed, "index": i}
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with torch.no_grad():
            feats = self.features(wave_t, generator=gen)
        if self.apply_cmn:
            feats = torch.from_numpy(cmn(feats.numpy()))
        if self.augmenter is not None and self.aug.specaug.prob > 0:
            feats = spec_augment(feats[None], self.aug.specaug, gen)[0]
        return {"feats": feats.float(), "label": label, "seed": seed, "index": i}


def samples_for_frames(features: torch.nn.Module, frames: int) -> int:
    """Fewest samples that give `frames` feature frames."""
    opts = features.opts
    n = opts.window_size + (frames - 1) * opts.window_shift if opts.snip_edges \
        else frames * opts.window_shift - opts.window_shift // 2
    while features.num_frames(n) < frames:
        n += 1
    return n


def build_wave_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                       training: bool, cfg: dict) -> TrainSet:
    """Wave mode: random pieces of wav.scp audio, augmented, with fbank from `cfg['features']`."""
    feat_cfg = cfg.get("features") or {}
    features, _ = from_config(feat_cfg, None if "name" in feat_cfg else "fbank", where="features")
    rate = int(features.opts.sample_frequency)
    entries = wave_entries(dd, rate, opts.allow_truncated_audio)
    labels = np.array([spk2id[dd.utt2spk[e.utt]] for e in entries], dtype=np.int64)
    frames = np.array([features.num_frames(e.num_samples) for e in entries])
    keep = np.flatnonzero(frames >= max(opts.min_frames, 1))
    entries, labels = [entries[k] for k in keep], labels[keep]
    check_kept(str(dd.path), spk2id, labels, opts.min_frames, training)
    piped = sum(is_pipe(e.rspec) for e in entries)
    if training and piped:
        # Every crop would run its command again: an ffmpeg pipe per crop made one loader worker
        # 9x slower than files (BENCHMARKS.md, "Piped audio").
        log.warning("%s: %d of %d training utterances are read through wav.scp pipes, which run at every "
                    "read; decode them once: utils/decode_pipes.sh %s <audio-dir> <new-data-dir>",
                    dd.file("wav.scp"), piped, len(entries), dd.path)
    augmenter = None
    if training:
        srcs = {}
        for t in Augmenter.TYPES:
            sect = getattr(aug, t)
            if sect.prob > 0 and not sect.data:
                raise ConfigError(f"augment.{t}: prob {sect.prob} needs a data dir (augment.{t}.data)")
            srcs[t] = load_sources(sect.data, rate, f"augment.{t}.data") if sect.prob > 0 else []
        augmenter = Augmenter(aug, AugmentSources(**srcs), SourceLoader(rate, opts.allow_truncated_audio))
    ds = WaveChunkDataset(entries, labels, samples_for_frames(features, opts.num_frames), rate, len(spk2id),
                          aug, augmenter, features, opts.fbank_on == "cpu", opts.cmn, opts.short_utt,
                          opts.allow_truncated_audio)
    if training and aug.speed.prob > 0:
        spk2id = speed_speakers(spk2id, aug.speed.speeds)
    return TrainSet(ds, labels, features.dim, spk2id, None if opts.fbank_on == "cpu" else features)
