"""Embedding tables in Kaldi ark/scp (xvector.ark/scp, spk_xvector.ark/scp): the one reader and the one
writer.

Read as (keys, float32 matrix), whole or streamed in blocks. Tables of plain binary vectors (`key ark:offset`
lines pointing at Kaldi `FV`/`DV` records, as written here and by Kaldi's nnet3 extraction) are read
straight from the memory-mapped ark: every record header is checked, then the rows are copied as one strided
view when the records are evenly spaced. Anything else (compressed or matrix records, pipes, slices) goes
through kaldiio, which is imported lazily so that importing this module costs nothing for code that never
touches an ark."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from common.errors import FormatError
from common.io import atomic_write

HEADER = 10  # b"\0B", b"FV " or b"DV ", b"\4", int32 dim
VECTOR_TYPES = {b"FV ": np.dtype("<f4"), b"DV ": np.dtype("<f8")}

Rows = Callable[[int, int], np.ndarray]  # rows [lo, hi) of a table as float32


def _fast_table(path: str) -> tuple[list[str], int, Rows] | None:
    """(keys, dim, rows) of an scp of plain binary vectors in arks, or None to use kaldiio."""
    with open(path, "rb") as f:
        data = f.read()
    toks = data.split()
    n_lines = data.count(b"\n") + (not data.endswith(b"\n"))
    ws = np.frombuffer(data, np.uint8)
    ws = ws[ws <= 32]
    if not toks or len(toks) != 2 * n_lines or len(ws) < 2 * n_lines - 1 \
            or (ws[0::2] != 32).any() or (ws[1::2] != 10).any():
        return None  # not `key location` lines with one space (blank lines, commands...): kaldiio's reader
    locs = [t.rpartition(b":") for t in toks[1::2]]
    try:
        offsets = np.array([int(off) for _, _, off in locs], dtype=np.int64)
    except ValueError:  # no offset, or a slice `ark:12[0:3]`
        return None
    if offsets.min() < 0:
        return None
    arks = [a for a, _, _ in locs]
    dim, dtype, parts = None, None, []
    for ark in dict.fromkeys(arks):
        rows = np.flatnonzero([a == ark for a in arks]) if len(set(arks)) > 1 else np.arange(len(arks))
        if not ark or not os.path.isfile(ark):
            return None
        mm = np.memmap(ark, dtype=np.uint8, mode="r") if os.path.getsize(ark) else np.zeros(0, np.uint8)
        off = offsets[rows]
        if len(mm) < HEADER or off.max() > len(mm) - HEADER:
            return None
        head = mm[off[:, None] + np.arange(HEADER)]
        kind = bytes(head[0, 2:5])
        dims = np.ascontiguousarray(head[:, 6:]).view("<i4").ravel()
        if (kind not in VECTOR_TYPES or not (head[:, :6] == head[0, :6]).all() or bytes(head[0, :2]) != b"\0B"
                or head[0, 5] != 4 or (dims != dims[0]).any() or dim not in (None, int(dims[0]))
                or dtype not in (None, VECTOR_TYPES[kind])):
            return None  # other record types or mixed dims: kaldiio (and its error messages)
        dim, dtype = int(dims[0]), VECTOR_TYPES[kind]
        if off.max() + HEADER + dim * dtype.itemsize > len(mm):
            return None
        parts.append((rows, mm, off + HEADER))
    keys = [k.decode() for k in toks[0::2]]
    return keys, dim, lambda lo, hi: _rows(parts, dim, dtype, lo, hi)


def _rows(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], dim: int, dtype: np.dtype,
          lo: int, hi: int) -> np.ndarray:
    out = np.empty((hi - lo, dim), np.float32)
    for rows, mm, starts in parts:
        sel = np.flatnonzero((rows >= lo) & (rows < hi))
        if not len(sel):
            continue
        st = starts[sel]
        step = np.diff(st)
        if len(st) == 1 or (step == step[0]).all() and step[0] >= dim * dtype.itemsize:
            # evenly spaced records (keys of one length): one strided view over the ark, one copy
            view = np.ndarray((len(st), dim), dtype=dtype, buffer=mm, offset=int(st[0]),
                              strides=(int(step[0]) if len(st) > 1 else 0, dtype.itemsize))
            out[rows[sel] - lo] = view
        else:
            for r, s in zip((rows[sel] - lo).tolist(), st.tolist()):
                out[r] = np.frombuffer(mm, dtype, dim, s)
    return out


def _check_unique(keys: list[str], paths: Sequence[str]) -> None:
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))
        raise FormatError(f"{', '.join(map(str, paths))}: key {dup!r} appears twice; "
                         "each utterance/speaker needs one embedding")


def load_embeddings(paths: str | Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Keys and [N, D] float32 matrix of one or more scp files; all vectors must share one dim."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such embedding scp")
    tables = [_fast_table(str(p)) for p in paths]
    if all(tables) and len({t[1] for t in tables}) == 1:
        keys = [k for t in tables for k in t[0]]
        if len(tables) > 1:
            x = np.concatenate([t[2](0, len(t[0])) for t in tables])
        else:
            x = tables[0][2](0, len(keys))
        _check_unique(keys, paths)
        return keys, x
    return _load_kaldiio(paths)


def _load_kaldiio(paths: list) -> tuple[list[str], np.ndarray]:
    import kaldiio
    keys: list[str] = []
    rows: list[np.ndarray] = []
    for path in paths:
        for k, v in kaldiio.load_scp_sequential(str(path)):
            v = np.asarray(v, dtype=np.float32).reshape(-1)
            if rows and len(v) != len(rows[0]):
                raise FormatError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {len(rows[0])}")
            keys.append(k)
            rows.append(v)
    if not rows:
        raise FormatError(f"{', '.join(map(str, paths))}: no embeddings")
    _check_unique(keys, paths)
    return keys, np.stack(rows)


def iter_embedding_blocks(path: str, block: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
    """Stream an scp as (keys, [<=block, D] float32) blocks: memory is bounded by `block`, not the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such embedding scp")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    table = _fast_table(str(path))
    if table is not None:
        keys, _, rows = table
        for lo in range(0, len(keys), block):
            yield keys[lo:lo + block], rows(lo, min(lo + block, len(keys)))
        return
    yield from _iter_kaldiio(path, block)


def _iter_kaldiio(path: str, block: int) -> Iterator[tuple[list[str], np.ndarray]]:
    import kaldiio
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
