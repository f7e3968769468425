"""Reading a Kaldi data directory for training and extraction, with errors that name the fix."""
from __future__ import annotations

import os
from pathlib import Path

import kaldiio
import numpy as np

from common.errors import FormatError
from common.io import read_kv

FIX = "run utils/fix_data_dir.sh on the data dir"


class DataDir:
    """utt2spk plus lazily read tables; utterances are kept in utt2spk (sorted) order."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise FormatError(f"{self.path}: data directory not found")
        u2s = self.file("utt2spk")
        if not u2s.exists():
            raise FormatError(f"{u2s}: missing; every data dir needs utt2spk (utt spk per line)")
        self.utt2spk = {u: s.strip() for u, s in read_kv(u2s).items()}
        for utt, spk in self.utt2spk.items():
            if not spk or " " in spk:
                raise FormatError(f"{u2s}: utterance {utt!r} must have exactly one speaker, got {spk!r}")
        self.utts = sorted(self.utt2spk)
        if not self.utts:
            raise FormatError(f"{u2s}: no utterances")

    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return self.file(name).exists()

    def table(self, name: str, utts: list[str] | None = None) -> dict[str, str]:
        """`utt value` table restricted to `utts`; a missing file or entry is a FormatError."""
        path = self.file(name)
        if not path.exists():
            raise FormatError(f"{path}: missing (needed for this data mode)")
        tab = read_kv(path)
        utts = self.utts if utts is None else utts
        missing = [u for u in utts if u not in tab]
        if missing:
            raise FormatError(f"{path}: no entry for {len(missing)} utterance(s) of utt2spk, first "
                              f"{missing[0]!r}; {FIX}")
        return {u: tab[u] for u in utts}

    def spk2utt(self) -> dict[str, list[str]]:
        """From the spk2utt file when present (enrollment dirs define their own), else utt2spk."""
        path = self.file("spk2utt")
        out: dict[str, list[str]] = {}
        if path.exists():
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    parts = line.split()
                    if not parts:
                        continue
                    if len(parts) < 2:
                        raise FormatError(f"{path}:{n}: speaker {parts[0]!r} has no utterances; {FIX}")
                    out[parts[0]] = parts[1:]
            return out
        for utt in self.utts:
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return out


def load_vad(rspec: str, utt: str, where: str) -> np.ndarray:
    """Boolean voiced mask of one utterance from a vad.scp entry (Kaldi float vector of 0/1)."""
    try:
        vec = np.asarray(kaldiio.load_mat(rspec))
    except Exception as e:
        raise FormatError(f"{where}: cannot read VAD of {utt!r} from {rspec!r}: {e}") from None
    if vec.ndim != 1:
        raise FormatError(f"{where}: VAD of {utt!r} must be a vector, got shape {vec.shape}")
    return vec > 0.5


def voiced_counts(vad_path: str | os.PathLike, utts: list[str]) -> np.ndarray:
    """Voiced frames per utterance, computed once at start-up (chunks are drawn among voiced frames).

    Reads vad.scp sequentially (kaldiio keeps each ark open), which is much faster than a lookup per
    utterance on large corpora.
    """
    counts: dict[str, int] = {}
    try:
        for utt, vec in kaldiio.load_scp_sequential(str(vad_path)):
            counts[utt] = int((np.asarray(vec) > 0.5).sum())
    except Exception as e:
        raise FormatError(f"{vad_path}: cannot read VAD vectors: {e}") from None
    missing = [u for u in utts if u not in counts]
    if missing:
        raise FormatError(f"{vad_path}: no entry for {len(missing)} utterance(s), first {missing[0]!r}; "
                          f"{FIX}")
    return np.array([counts[u] for u in utts], dtype=np.int64)
