"""On-the-fly speaker mixtures for multi-identity training (MIRNet, `data.mode: mixture`).

Item (i, seed): a random segment of utterance i (speaker A) plus random segments of
`mix_speakers - 1` utterances of other speakers, drawn from the seed, each scaled to a
signal-to-interference ratio drawn from `mix_sir` (dB, A over it, mean power), summed, then the
features of `cfg['features']` (e.g. a 257-bin spectrogram). The sampler's seed changes every epoch,
so every epoch pairs new speakers; validation keeps epoch 0, so it sees the same mixtures each time.
The label is the list of the N speakers' classes (the PIT loss takes labels [B, N]). Segments are
read by the wave-mode dataset (random offsets, short clips repeated or concatenated); the
wave-level augmentations are not applied.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from common.errors import ConfigError, FormatError
from pytorch.data.chunks import cmn
from pytorch.data.datadir import DataDir
from pytorch.data.options import AugmentOptions, DataOptions
from pytorch.data.trainset import TrainSet
from pytorch.data.wave_dataset import WaveChunkDataset, build_wave_dataset


def scale_to_sir(target: np.ndarray, other: np.ndarray, sir_db: float) -> np.ndarray:
    """`other` scaled so that power(target) / power(other) is sir_db."""
    pt, po = float(np.mean(target ** 2)) + 1e-12, float(np.mean(other ** 2)) + 1e-12
    return other * np.sqrt(pt / po * 10 ** (-sir_db / 10))


class MixtureDataset(Dataset):
    def __init__(self, waves: WaveChunkDataset, num_speakers: int, sir: list[float], apply_cmn: bool) -> None:
        self.waves = waves
        self.num_speakers = num_speakers
        self.sir = (float(sir[0]), float(sir[1]))
        self.apply_cmn = apply_cmn
        labels = waves.labels
        self.by_label = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}
        if len(self.by_label) < num_speakers:
            raise FormatError(f"data.mix_speakers: {num_speakers} speakers per mixture, but the data dir has "
                              f"{len(self.by_label)} speakers")

    def __len__(self) -> int:
        return len(self.waves)

    def utt(self, i: int) -> str:
        return self.waves.utt(i)

    def partners(self, i: int, rng: np.random.Generator) -> list[int]:
        """Items of mix_speakers - 1 random speakers other than item i's."""
        own = int(self.waves.labels[i])
        others = [c for c in self.by_label if c != own]
        picked = rng.choice(len(others), self.num_speakers - 1, replace=False)
        return [int(rng.choice(self.by_label[others[int(k)]])) for k in picked]

    def __getitem__(self, item: tuple[int, int]) -> dict:
        i, seed = item
        rng = np.random.default_rng(seed)
        n = self.waves.num_samples
        items = [i, *self.partners(i, rng)]
        segs = [self.waves._segment(j, n, rng) for j in items]
        mix = segs[0].astype(np.float64)
        for seg in segs[1:]:
            mix = mix + scale_to_sir(segs[0], seg, float(rng.uniform(*self.sir)))
        peak = float(np.abs(mix).max())
        if peak > 0.99:   # keep it a valid 16-bit-range signal, as a written mixture would be
            mix *= 0.99 / peak
        wave = torch.from_numpy(np.ascontiguousarray(mix, dtype=np.float32) * 32768.0)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with torch.no_grad():
            feats = self.waves.features(wave, generator=gen)
        if self.apply_cmn:
            feats = torch.from_numpy(cmn(feats.numpy()))
        return {"feats": feats.float(), "label": [int(self.waves.labels[j]) for j in items], "seed": seed,
                "index": i}


def build_mixture_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                          training: bool, cfg: dict) -> TrainSet:
    """Mixture mode: the wave-mode dataset of `dd`, its segments mixed on the fly."""
    if opts.fbank_on != "cpu":
        raise ConfigError("data.fbank_on: mixture mode computes features in the loader workers; set "
                          "fbank_on: cpu")
    if aug.wave_level:
        raise ConfigError("augment: mixture mode applies no wave-level augmentation (noise, music, babble, "
                          "reverb, speed); set their prob to 0")
    ts = build_wave_dataset(dd, opts, aug, spk2id, training, cfg)
    ds = MixtureDataset(ts.dataset, opts.mix_speakers, opts.mix_sir, opts.cmn)
    return TrainSet(ds, ts.labels, ts.feat_dim, ts.spk2id)
