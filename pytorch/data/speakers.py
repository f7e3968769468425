"""Speaker bookkeeping for training data: class ids, per-speaker utterance pools, and the checks that
every training speaker keeps an utterance and every validation speaker is a training one."""
from __future__ import annotations

import numpy as np

from common.errors import ConfigError, FormatError
from pytorch.data.datadir import DataDir


def train_speakers(train_dir: str | None) -> dict[str, int]:
    """Speaker -> class index from the training dir's utt2spk (sorted, so ids are stable)."""
    if not train_dir:
        raise ConfigError("data.train: the training data dir is required")
    return {s: i for i, s in enumerate(sorted(set(DataDir(train_dir).utt2spk.values())))}


def check_known_speakers(dd: DataDir, spk2id: dict[str, int], train_dir: str) -> None:
    """Validation labels must be classes of the classifier."""
    unknown = sorted(set(dd.utt2spk.values()) - set(spk2id))
    if unknown:
        raise FormatError(f"{dd.path}/utt2spk: speaker {unknown[0]!r} is not in the training dir "
                          f"{train_dir}; validation utterances must come from training speakers")


def check_kept(where: str, spk2id: dict[str, int], labels: np.ndarray, min_frames: int,
               training: bool) -> None:
    """After dropping utterances shorter than data.min_frames: something is left and (training) every
    speaker keeps at least one utterance, or its class could never be trained."""
    if labels.size == 0:
        raise FormatError(f"{where}: no utterance has at least data.min_frames={min_frames} frames")
    if not training:
        return
    present = np.zeros(len(spk2id), dtype=bool)
    present[labels] = True
    if not present.all():
        names = sorted(spk2id, key=spk2id.get)
        spk = names[int(np.flatnonzero(~present)[0])]
        raise FormatError(f"{where}: speaker {spk!r} has no usable utterances ({int((~present).sum())} such "
                          f"speakers); lower data.min_frames ({min_frames}) or remove the speaker from the "
                          "data dir")


def group_by_speaker(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Label -> indices of its items (in item order), for the labels present, in label order."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return {int(labels[g[0]]): g for g in np.split(order, bounds) if g.size}


def other_clips(by_spk: dict[int, np.ndarray], labels: np.ndarray, i: int) -> np.ndarray:
    """The other items of item i's speaker (item i itself when it is the speaker's only one)."""
    pool = by_spk[int(labels[i])]
    return pool[pool != i] if pool.size > 1 else pool


def speed_speakers(spk2id: dict[str, int], speeds: list[float]) -> dict[str, int]:
    """Kaldi-style speed perturbation makes new speakers: speed k of speaker s is class s + k * S."""
    out = dict(spk2id)
    for k, speed in enumerate(speeds, 1):
        out.update({f"sp{speed}-{spk}": i + k * len(spk2id) for spk, i in spk2id.items()})
    return out
