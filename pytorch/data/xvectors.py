"""Embedding tables: xvector.ark/scp writing (atomic), reading, speaker means, utt2num_frames."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

import kaldiio
import numpy as np
from kaldiio.matio import write_array

from score.io import FormatError, atomic_write


def write_vectors(out_dir: str | os.PathLike, name: str, vectors: Iterable[tuple[str, np.ndarray]]) -> int:
    """Write <out_dir>/<name>.ark and .scp. The ark is complete before the scp appears, and both go
    through temp names, so a killed job never leaves a complete-looking table."""
    out_dir = Path(out_dir)
    ark = out_dir / f"{name}.ark"
    entries = []
    with atomic_write(ark, "wb") as f:
        for key, vec in vectors:
            f.write(f"{key} ".encode())
            entries.append((key, f.tell()))
            write_array(f, np.asarray(vec, dtype=np.float32))
    with atomic_write(out_dir / f"{name}.scp") as f:
        f.writelines(f"{key} {ark}:{off}\n" for key, off in entries)
    return len(entries)


def read_vectors(scp: str | os.PathLike) -> dict[str, np.ndarray]:
    if not Path(scp).exists():
        raise FormatError(f"{scp}: not found; run extraction first")
    try:
        return {k: np.asarray(v, dtype=np.float32) for k, v in kaldiio.load_scp_sequential(str(scp))}
    except Exception as e:
        raise FormatError(f"{scp}: cannot read embeddings: {e}") from None


def speaker_means(emb: Mapping[str, np.ndarray], spk2utt: Mapping[str, list[str]],
                  where: str = "spk2utt") -> list[tuple[str, np.ndarray]]:
    """Mean of the utterance embeddings of every speaker (for enrollment dirs: every enroll id)."""
    out = []
    for spk in sorted(spk2utt):
        utts = spk2utt[spk]
        missing = [u for u in utts if u not in emb]
        if missing:
            raise FormatError(f"{where}: speaker {spk!r}: no embedding for utterance {missing[0]!r} "
                              f"({len(missing)} missing); re-run extraction on this data dir")
        mean = np.mean(np.stack([emb[u] for u in utts]), axis=0, dtype=np.float64)
        out.append((spk, mean.astype(np.float32)))
    return out


def write_num_frames(path: str | os.PathLike, counts: Iterable[tuple[str, int]]) -> None:
    with atomic_write(path) as f:
        f.writelines(f"{u} {n}\n" for u, n in counts)
