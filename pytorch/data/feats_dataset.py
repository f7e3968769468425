"""Training chunks from precomputed features (feats.scp [+ vad.scp]).

Items are `(utt_index, seed)` pairs from the samplers; everything random about a sample (crop,
concatenated clips, SpecAugment) comes from `seed`, so batches do not depend on the worker count.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from common.errors import ConfigError, FormatError
from pytorch.data.chunks import cmn, concat_clips, random_chunk, read_voiced
from pytorch.data.datadir import DataDir, load_vad, voiced_counts
from pytorch.data.featreader import FeatReader, MatInfo
from pytorch.data.options import AugmentOptions, DataOptions, SpecAugOptions
from pytorch.data.speakers import check_kept, group_by_speaker, other_clips
from pytorch.data.specaug import spec_augment
from pytorch.data.trainset import TrainSet

log = logging.getLogger(__name__)


@dataclass
class FeatsIndex:
    """The kept utterances of a feature data dir and what sampling needs to know about each."""
    utts: list[str]
    infos: list[MatInfo]
    avail: np.ndarray          # usable (voiced) frames per utterance
    labels: np.ndarray         # speaker index per utterance
    vad: dict[str, str] | None  # vad.scp entries when VAD is applied
    where: str


class FeatsChunkDataset(Dataset):
    def __init__(self, reader: FeatReader, index: FeatsIndex, num_frames: int, short_utt: str,
                 apply_cmn: bool, specaug: SpecAugOptions | None, cmn_window: int = 0) -> None:
        """apply_cmn: per-chunk CMN; cmn_window > 0: sliding CMN of the utterance before VAD."""
        self.reader = reader
        self.index = index
        self.num_frames = num_frames
        self.short_utt = short_utt
        self.apply_cmn = apply_cmn
        self.cmn_window = cmn_window
        self.specaug = specaug
        self.by_spk = group_by_speaker(index.labels)  # for concatenating short clips of one speaker

    def __len__(self) -> int:
        return len(self.index.utts)

    def utt(self, i: int) -> str:
        return self.index.utts[i]

    def _voiced(self, i: int) -> np.ndarray | None:
        if self.index.vad is None:
            return None
        utt, info = self.index.utts[i], self.index.infos[i]
        mask = load_vad(self.index.vad[utt], utt, self.index.where)
        if mask.size != info.rows:
            raise FormatError(f"{self.index.where}: VAD of {utt!r} has {mask.size} frames but its features "
                              f"have {info.rows}; recompute vad.scp from these features")
        return mask

    def _read(self, i: int, start: int, length: int | None) -> np.ndarray:
        """Voiced frames [start, start+length) of item i (all of them for None)."""
        return read_voiced(self.reader, self.index.utts[i], self.index.infos[i], self._voiced(i), start,
                           length, self.cmn_window)

    def __getitem__(self, item: tuple[int, int]) -> dict:
        i, seed = item
        rng = np.random.default_rng(seed)
        if self.short_utt == "concat" and self.index.avail[i] < self.num_frames:
            others = other_clips(self.by_spk, self.index.labels, i)
            first = self._read(i, 0, None)
            feats = concat_clips(first, self.num_frames, others, self.index.avail, self._read, rng)
        else:
            feats = random_chunk(self.reader, self.index.utts[i], self.index.infos[i], self._voiced(i),
                                 int(self.index.avail[i]), self.num_frames, rng, self.cmn_window)
        if self.apply_cmn:
            feats = cmn(feats)
        out = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        if self.specaug is not None and self.specaug.prob > 0:
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            out = spec_augment(out[None], self.specaug, gen)[0]
        return {"feats": out, "label": int(self.index.labels[i]), "seed": seed, "index": i}


def build_feats_index(dd: DataDir, spk2id: dict[str, int], reader: FeatReader, use_vad: bool,
                      min_frames: int) -> FeatsIndex:
    """Read every matrix header once (shape, in-place readability), count voiced frames when VAD
    applies, and drop utterances shorter than `min_frames` (and empty ones)."""
    where = str(dd.file("feats.scp"))
    infos = [reader.info(u) for u in dd.utts]
    dims = np.array([inf.cols for inf in infos])
    if np.any(dims != dims[0]):
        k = int(np.flatnonzero(dims != dims[0])[0])
        raise FormatError(f"{where}: feature dims differ: {dd.utts[0]!r} has {dims[0]}, {dd.utts[k]!r} has "
                          f"{dims[k]}; all features of a data dir must come from one config")
    vad = None
    avail = np.array([inf.rows for inf in infos], dtype=np.int64)
    if use_vad and dd.has("vad.scp"):
        vad = dd.table("vad.scp")
        avail = voiced_counts(dd.file("vad.scp"), dd.utts)
    labels = np.array([spk2id[dd.utt2spk[u]] for u in dd.utts], dtype=np.int64)
    keep = avail >= max(min_frames, 1)
    idx = np.flatnonzero(keep)
    return FeatsIndex([dd.utts[k] for k in idx], [infos[k] for k in idx], avail[idx], labels[idx], vad, where)


def build_feats_dataset(dd: DataDir, opts: DataOptions, aug: AugmentOptions, spk2id: dict[str, int],
                        training: bool, cfg: dict) -> TrainSet:
    """Feats mode: chunks of feats.scp (+ vad.scp); `cfg` is unused (build_wave_dataset's signature)."""
    if aug.wave_level and training:
        raise ConfigError("augment: noise/music/babble/reverb/speed work on waveforms and need "
                          "data.mode: wave "
                          "(in feats mode augment the data dirs before feature extraction)")
    if not dd.has("feats.scp"):
        raise FormatError(f"{dd.file('feats.scp')}: missing; run feature extraction (stage 1) or set "
                          "data.mode: wave")
    reader = FeatReader(dd.table("feats.scp"), str(dd.file("feats.scp")))
    index = build_feats_index(dd, spk2id, reader, opts.use_vad, opts.min_frames)
    check_kept(str(dd.path), spk2id, index.labels, opts.min_frames, training)
    dropped = len(dd.utts) - len(index.utts)
    if dropped:
        log.info("%s: dropped %d utterances with fewer than %d frames", dd.path, dropped,
                 max(opts.min_frames, 1))
    ds = FeatsChunkDataset(reader, index, opts.num_frames, opts.short_utt, opts.chunk_cmn,
                           aug.specaug if training else None, opts.cmn_window)
    return TrainSet(ds, index.labels, index.infos[0].cols, spk2id)
