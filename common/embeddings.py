"""Embedding tables in Kaldi ark/scp (xvector.ark/scp, spk_xvector.ark/scp): the one reader and the one writer.

Read as (keys, float32 matrix), whole or streamed in blocks; kaldiio is imported lazily so that importing this
module costs nothing for code that never touches an ark."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from common.errors import FormatError
from common.io import atomic_write


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
                raise FormatError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {len(rows[0])}")
            keys.append(k)
            rows.append(v)
    if not rows:
        raise FormatError(f"{', '.join(map(str, paths))}: no embeddings")
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))
        raise FormatError(f"{', '.join(map(str, paths))}: key {dup!r} appears twice; "
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
            raise FormatError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {buf.shape[1]}")
        buf[len(keys)] = v
        keys.append(k)
        if len(keys) == block:
            yield keys, buf.copy()
            keys = []
    if buf is None:
        raise FormatError(f"{path}: no embeddings")
    if keys:
        yield keys, buf[:len(keys)].copy()


def write_embeddings(keys: Iterable[str], vectors: Iterable[np.ndarray], ark: str | os.PathLike,
                     scp: str | os.PathLike) -> int:
    """Write `key vector` pairs (streamed: `vectors` may be a generator) to ark/scp and return the count.
    The ark is complete before the scp appears, and both go through temp names, so a killed job never leaves a
    complete-looking table."""
    from kaldiio.matio import write_array
    ark = Path(ark)
    entries = []
    with atomic_write(ark, "wb") as f:
        for key, vec in zip(keys, vectors):
            f.write(f"{key} ".encode())
            entries.append((key, f.tell()))
            write_array(f, np.asarray(vec, dtype=np.float32))
    with atomic_write(scp) as f:
        f.writelines(f"{key} {ark}:{off}\n" for key, off in entries)
    return len(entries)
