"""Fixed-length training chunks: repetition padding and same-speaker concatenation (features and
waveforms alike), and for feature matrices VAD selection and random crops.

With VAD the voiced frames are selected first and the chunk is drawn among them (the same rule as
extraction, so the model never sees silence it is not tested on). Only the row span that holds the
chosen voiced frames is read from disk, except with sliding CMN (`cmn_window` > 0, Kaldi x-vector /
ASV-Subtools egs): that normalises the whole utterance before VAD, so the whole matrix is read.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from pytorch.data.featreader import FeatReader, MatInfo
from pytorch.features.cmvn import sliding_cmvn

MAX_CONCAT = 64  # clips appended at most before falling back to repetition


def repeat_pad(mat: np.ndarray, length: int) -> np.ndarray:
    """Repeat `mat` along axis 0 until it has `length` rows (a short utterance played in a loop)."""
    if mat.shape[0] == 0:
        raise ValueError("cannot pad an empty matrix")
    if mat.shape[0] >= length:
        return mat[:length]
    return np.take(mat, np.arange(length) % mat.shape[0], axis=0)


def concat_clips(first: np.ndarray, length: int, others: np.ndarray, sizes: np.ndarray,
                 read: Callable[[int, int, int | None], np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A short clip made `length` long (along axis 0) by appending random clips of the same speaker,
    CNSRC 2022 style: `others` are the candidate items, `sizes[j]` their usable lengths and
    `read(j, start, length or None for all)` reads one. Each appended clip is a random piece just long
    enough to finish, or a whole clip when it is too short. Repetition pads what MAX_CONCAT clips leave."""
    parts, total = [first], first.shape[0]
    for _ in range(MAX_CONCAT):
        if total >= length:
            break
        j = int(others[rng.integers(others.size)])
        need = length - total
        part = read(j, random_start(int(sizes[j]), need, rng), need) if sizes[j] > need else read(j, 0, None)
        parts.append(part)
        total += part.shape[0]
    return repeat_pad(np.concatenate(parts), length)


def random_start(avail: int, length: int, rng: np.random.Generator) -> int:
    return int(rng.integers(0, avail - length + 1)) if avail > length else 0


def sliding_cmn(mat: np.ndarray, window: int) -> np.ndarray:
    """Kaldi `apply-cmvn-sliding --norm-vars=false --center=true --cmn-window=<window>` of [T, F]."""
    # min_cmn_window does not change centred windows; Kaldi only requires it <= cmn_window.
    return sliding_cmvn(torch.from_numpy(np.array(mat)), cmn_window=window, center=True,
                        min_cmn_window=min(100, window)).numpy()


def read_voiced(reader: FeatReader, utt: str, info: MatInfo, voiced: np.ndarray | None,
                start: int = 0, length: int | None = None, cmn_window: int = 0) -> np.ndarray:
    """Voiced frames [start, start+length) of `utt` (all frames when `voiced` is None), reading only
    the rows between the first and last selected voiced frame; with `cmn_window` > 0 the whole
    utterance, sliding-CMN'd before the VAD selection."""
    if cmn_window > 0:
        mat = sliding_cmn(reader.read(utt, 0, None, info), cmn_window)
        if voiced is not None:
            mat = mat[voiced[:info.rows]]
        return mat[start:] if length is None else mat[start:start + length]
    if voiced is None:
        return reader.read(utt, start, length, info)
    idx = np.flatnonzero(voiced[:info.rows])
    idx = idx[start:] if length is None else idx[start:start + length]
    if idx.size == 0:
        return np.zeros((0, info.cols), np.float32)
    span = reader.read(utt, int(idx[0]), int(idx[-1] - idx[0] + 1), info)
    return span[idx - idx[0]]


def random_chunk(reader: FeatReader, utt: str, info: MatInfo, voiced: np.ndarray | None,
                 avail: int, length: int, rng: np.random.Generator, cmn_window: int = 0) -> np.ndarray:
    """A random `length`-frame chunk of the (voiced) frames; shorter utterances are repeat-padded."""
    if avail >= length:
        return read_voiced(reader, utt, info, voiced, random_start(avail, length, rng), length, cmn_window)
    return repeat_pad(read_voiced(reader, utt, info, voiced, cmn_window=cmn_window), length)


def cmn(feats: np.ndarray) -> np.ndarray:
    """Mean normalisation over time of one chunk (the usual speaker-ID input normalisation)."""
    return feats - feats.mean(axis=0, keepdims=True)
