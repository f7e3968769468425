"""Embeddings in Kaldi ark/scp (kaldiio) as (keys, float32 matrix), whole or streamed in blocks."""
from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from score.io import atomic_write


def load_embeddings(paths: str | Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Keys and [N, D] float32 matrix of one or more scp files; all vectors must share one dim."""
    import kaldiio
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    keys: list[str] = []
    rows: list[np.ndarray] = []
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such embedding scp")
        for k, v in kaldiio.load_scp_sequential(str(path)):
            v = np.asarray(v, dtype=np.float32).reshape(-1)
            if rows and len(v) != len(rows[0]):
                raise ValueError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {len(rows[0])}")
            keys.append(k)
            rows.append(v)
    if not rows:
        raise ValueError(f"{', '.join(map(str, paths))}: no embeddings")
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))
        raise ValueError(f"{', '.join(map(str, paths))}: key {dup!r} appears twice; "
                         "each utterance/speaker needs one embedding")
    return keys, np.stack(rows)


def iter_embedding_blocks(path: str, block: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
    """Stream an scp as (keys, [<=block, D] float32) blocks: memory is bounded by `block`, not the file."""
    import kaldiio
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such embedding scp")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    keys: list[str] = []
    buf: np.ndarray | None = None
    for k, v in kaldiio.load_scp_sequential(str(path)):
        v = np.asarray(v, dtype=np.float32).reshape(-1)
        if buf is None:
            buf = np.empty((block, len(v)), dtype=np.float32)
        elif len(v) != buf.shape[1]:
            raise ValueError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {buf.shape[1]}")
        buf[len(keys)] = v
        keys.append(k)
        if len(keys) == block:
            yield keys, buf.copy()
            keys = []
    if buf is None:
        raise ValueError(f"{path}: no embeddings")
    if keys:
        yield keys, buf[:len(keys)].copy()


def write_embeddings(keys: Iterable[str], x: np.ndarray, ark: str, scp: str) -> None:
    """Write vectors to ark/scp; both appear only once complete (temp names, then rename)."""
    import kaldiio
    tmp_ark, tmp_scp = f"{ark}.tmp", f"{scp}.tmp"
    with kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as w:
        for k, v in zip(keys, x):
            w(k, np.asarray(v, dtype=np.float32))
    os.replace(tmp_ark, ark)
    with open(tmp_scp) as f, atomic_write(scp) as out:  # point the scp at the final ark name
        out.write(f.read().replace(tmp_ark, ark))
    os.unlink(tmp_scp)
