"""Training chunks from precomputed features (feats.scp [+ vad.scp]).

Items are `(utt_index, seed)` pairs from the samplers; everything random about a sample (crop,
concatenated clips, SpecAugment) comes from `seed`, so batches do not depend on the worker count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from common.errors import FormatError
from pytorch.data.chunks import cmn, random_chunk, read_voiced, repeat_pad
from pytorch.data.datadir import DataDir, load_vad, voiced_counts
from pytorch.data.featreader import FeatReader, MatInfo
from pytorch.data.options import SpecAugOptions
from pytorch.data.specaug import spec_augment

MAX_CONCAT = 64  # clips to concatenate at most before falling back to repetition


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
                 apply_cmn: bool, specaug: SpecAugOptions | None) -> None:
        self.reader = reader
        self.index = index
        self.num_frames = num_frames
        self.short_utt = short_utt
        self.apply_cmn = apply_cmn
        self.specaug = specaug
        # Utterances of each speaker, for concatenating short clips of the same speaker.
        order = np.argsort(index.labels, kind="stable")
        bounds = np.flatnonzero(np.diff(index.labels[order])) + 1
        self.by_spk = {int(index.labels[g[0]]): g for g in np.split(order, bounds) if g.size}

    def __len__(self) -> int:
        return len(self.index.utts)

    def _voiced(self, i: int) -> np.ndarray | None:
        if self.index.vad is None:
            return None
        utt, info = self.index.utts[i], self.index.infos[i]
        mask = load_vad(self.index.vad[utt], utt, self.index.where)
        if mask.size != info.rows:
            raise FormatError(f"{self.index.where}: VAD of {utt!r} has {mask.size} frames but its features "
                              f"have {info.rows}; recompute vad.scp from these features")
        return mask

    def _chunk(self, i: int, length: int, rng: np.random.Generator) -> np.ndarray:
        utt, info = self.index.utts[i], self.index.infos[i]
        return random_chunk(self.reader, utt, info, self._voiced(i), int(self.index.avail[i]), length, rng)

    def _concat(self, i: int, rng: np.random.Generator) -> np.ndarray:
        """Short clip: append random clips of the same speaker until the chunk is full (CNSRC 2022)."""
        n = self.num_frames
        parts = [read_voiced(self.reader, self.index.utts[i], self.index.infos[i], self._voiced(i))]
        total = parts[0].shape[0]
        pool = self.by_spk[int(self.index.labels[i])]
        if pool.size > 1:
            pool = pool[pool != i]  # other clips first; a lone clip is repeated
        for _ in range(MAX_CONCAT):
            if total >= n:
                break
            j = int(pool[rng.integers(pool.size)])
            need = n - total
            if self.index.avail[j] > need:
                parts.append(self._chunk(j, need, rng))
            else:
                parts.append(read_voiced(self.reader, self.index.utts[j], self.index.infos[j],
                                         self._voiced(j)))
            total += parts[-1].shape[0]
        return repeat_pad(np.concatenate(parts), n)

    def __getitem__(self, item: tuple[int, int]) -> dict:
        i, seed = item
        rng = np.random.default_rng(seed)
        if self.short_utt == "concat" and self.index.avail[i] < self.num_frames:
            feats = self._concat(i, rng)
        else:
            feats = self._chunk(i, self.num_frames, rng)
        if self.apply_cmn:
            feats = cmn(feats)
        out = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        if self.specaug is not None and self.specaug.prob > 0:
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            out = spec_augment(out[None], self.specaug, gen)[0]
        return {"feats": out, "label": int(self.index.labels[i]), "seed": seed}


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
