"""Training segments from raw audio: read a random piece, speed-perturb, augment, then fbank.

Fbank runs here (in the DataLoader workers, `data.fbank_on: cpu`) or later on the accelerator in
TrainData.to_features (`fbank_on: device`, the item is then the augmented waveform). Speed
perturbation makes new speakers, Kaldi style: speed k of speaker s is class s + k * num_speakers.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from common.errors import ConfigError, FormatError
from common.io import read_kv
from pytorch.data.audio import AudioError, audio_duration, is_pipe, read_audio, read_segments
from pytorch.data.augment import Augmenter, AugmentSources, change_speed
from pytorch.data.chunks import cmn
from pytorch.data.datadir import DataDir
from pytorch.data.options import AugmentOptions, DataOptions
from pytorch.data.sources import Source, load_sources
from pytorch.data.specaug import spec_augment
from pytorch.features import from_config


@dataclass(frozen=True)
class WaveEntry:
    utt: str
    rspec: str          # wav.scp value of the recording
    offset: int         # first sample of the utterance in the recording (segments)
    num_samples: int


def read_range(rspec: str, start: int, length: int | None, utt: str, rate: int) -> np.ndarray:
    """Samples [start, start+length) of a wav.scp entry, float32 in [-1, 1).

    Plain files are read in place (soundfile seeks); pipes are run and sliced.
    """
    if not is_pipe(rspec):
        try:
            x, sr = sf.read(rspec.strip(), start=start, frames=-1 if length is None else length,
                            dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            if not os.path.exists(rspec.strip()):
                raise AudioError(f"utterance {utt}: audio file not found: {rspec}") from None
            raise AudioError(f"utterance {utt}: cannot read audio from {rspec!r}: {e}") from None
        x = x[:, 0]
    else:
        x, sr = read_audio(rspec, utt)
        x = x[start:] if length is None else x[start:start + length]
    if sr != rate:
        raise AudioError(f"utterance {utt}: sample rate {sr} Hz in {rspec!r}, expected {rate} Hz "
                         "(resample the data or set features.sample_frequency)")
    return np.ascontiguousarray(x, dtype=np.float32)


class SourceLoader:
    """Picklable reader of augmentation sources for the Augmenter (spawned workers need pickling)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def __call__(self, src: Source, start: int, length: int | None) -> np.ndarray:
        return read_range(src.rspec, start, length, src.key, self.rate)


def wave_entries(dd: DataDir, rate: int) -> list[WaveEntry]:
    """Per utterance: recording, offset and length in samples (utt2dur / segments / headers)."""
    wav = read_kv(dd.file("wav.scp")) if dd.has("wav.scp") else None
    if wav is None:
        raise FormatError(f"{dd.file('wav.scp')}: missing; data.mode: wave reads the audio")
    segs = {u: (r, s, e) for u, r, s, e in read_segments(dd.file("segments"))} if dd.has("segments") else {}
    durs = read_kv(dd.file("utt2dur")) if dd.has("utt2dur") else {}
    out = []
    for utt in dd.utts:
        reco, start, end = segs.get(utt, (utt, 0.0, -1.0))
        if reco not in wav:
            raise FormatError(f"{dd.file('wav.scp')}: no entry for {reco!r} (utterance {utt}); "
                              "run utils/fix_data_dir.sh")
        if utt in durs:
            dur = float(durs[utt])
        elif end != -1:
            dur = end - start
        else:
            dur = audio_duration(wav[reco], utt) - start
        out.append(WaveEntry(utt, wav[reco], int(round(start * rate)), int(dur * rate)))
    return out


class WaveChunkDataset(Dataset):
    def __init__(self, entries: list[WaveEntry], labels: np.ndarray, num_samples: int, rate: int,
                 num_speakers: int, aug: AugmentOptions, augmenter: Augmenter | None,
                 features: torch.nn.Module,
                 fbank_on_cpu: bool, apply_cmn: bool, short_utt: str) -> None:
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
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        self.by_spk = {int(labels[g[0]]): g for g in np.split(order, bounds) if g.size}

    def __len__(self) -> int:
        return len(self.entries)

    def _read(self, i: int, start: int, length: int | None) -> np.ndarray:
        e = self.entries[i]
        if length is None:
            length = e.num_samples - start
        return read_range(e.rspec, e.offset + start, length, e.utt, self.rate)

    def _segment(self, i: int, length: int, rng: np.random.Generator) -> np.ndarray:
        n = self.entries[i].num_samples
        if n >= length:
            x = self._read(i, int(rng.integers(0, n - length + 1)), length)
        else:
            x = self._read(i, 0, None)
            if self.short_utt == "concat":
                x = self._concat(i, x, length, rng)
        if x.size == 0:
            raise AudioError(f"utterance {self.entries[i].utt}: no audio in {self.entries[i].rspec!r}")
        return np.take(x, np.arange(length) % x.size) if x.size < length else x[:length]

    def _concat(self, i: int, x: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
        """Short clip: append random clips of the same speaker (CNSRC 2022 short-clip handling)."""
        pool = self.by_spk[int(self.labels[i])]
        pool = pool[pool != i] if pool.size > 1 else pool
        parts, total = [x], x.size
        while total < length and len(parts) < 64:
            j = int(pool[rng.integers(pool.size)])
            need = length - total
            nj = self.entries[j].num_samples
            part = (self._read(j, int(rng.integers(0, nj - need + 1)), need) if nj > need
                    else self._read(j, 0, None))
            parts.append(part)
            total += part.size
        return np.concatenate(parts)

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
        wave = np.take(wave, np.arange(self.num_samples) % wave.size) if wave.size < self.num_samples \
            else wave[:self.num_samples]
        if self.augmenter is not None and self.augmenter.active:
            wave, _ = self.augmenter(wave, rng)
        wave_t = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32) * 32768.0)
        if not self.fbank_on_cpu:
            return {"wave": wave_t, "label": label, "seed": seed}
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with torch.no_grad():
            feats = self.features(wave_t, generator=gen)
        if self.apply_cmn:
            feats = torch.from_numpy(cmn(feats.numpy()))
        if self.augmenter is not None and self.aug.specaug.prob > 0:
            feats = spec_augment(feats[None], self.aug.specaug, gen)[0]
        return {"feats": feats.float(), "label": label, "seed": seed}


def samples_for_frames(features: torch.nn.Module, frames: int) -> int:
    """Fewest samples that give `frames` feature frames."""
    opts = features.opts
    n = opts.window_size + (frames - 1) * opts.window_shift if opts.snip_edges \
        else frames * opts.window_shift - opts.window_shift // 2
    while features.num_frames(n) < frames:
        n += 1
    return n


def build_wave_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                       training: bool, cfg: dict) -> tuple[Dataset, np.ndarray, int, dict[str, int], dict]:
    feat_cfg = cfg.get("features") or {}
    features, _ = from_config(feat_cfg, None if "name" in feat_cfg else "fbank", where="features")
    rate = int(features.opts.sample_frequency)
    entries = wave_entries(dd, rate)
    labels = np.array([spk2id[dd.utt2spk[e.utt]] for e in entries], dtype=np.int64)
    frames = np.array([features.num_frames(e.num_samples) for e in entries])
    keep = np.flatnonzero(frames >= max(opts.min_frames, 1))
    if keep.size == 0:
        raise FormatError(f"{dd.path}: no utterance has at least data.min_frames={opts.min_frames} frames")
    entries, labels = [entries[k] for k in keep], labels[keep]
    if training:
        from pytorch.data.builder import check_speakers
        check_speakers(spk2id, labels, str(dd.path),
                       f"lower data.min_frames ({opts.min_frames}) or remove the speaker from the data dir")
    augmenter = None
    if training:
        srcs = {t: load_sources(aug.section(t).data, rate, f"augment.{t}.data")
                if aug.section(t).prob > 0 and aug.section(t).data else [] for t in Augmenter.TYPES}
        for t in Augmenter.TYPES:
            if aug.section(t).prob > 0 and not aug.section(t).data:
                raise ConfigError(f"augment.{t}: prob {aug.section(t).prob} needs a data dir "
                                  f"(augment.{t}.data)")
        augmenter = Augmenter(aug, AugmentSources(**srcs), SourceLoader(rate))
    num_spk = len(spk2id)
    if training and aug.speed.prob > 0:
        base, spk2id = spk2id, dict(spk2id)
        for k, s in enumerate(aug.speed.speeds, 1):
            spk2id.update({f"sp{s}-{spk}": i + k * num_spk for spk, i in base.items()})
    ds = WaveChunkDataset(entries, labels, samples_for_frames(features, opts.num_frames), rate, num_spk, aug,
                          augmenter, features, opts.fbank_on == "cpu", opts.cmn, opts.short_utt)
    extra = {} if opts.fbank_on == "cpu" else {"device_features": features}
    return ds, labels, features.dim, spk2id, extra
