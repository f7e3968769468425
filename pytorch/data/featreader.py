"""Random access to Kaldi feature matrices in ark files, reading only the rows a chunk needs.

`feats.scp` lines are `<utt> <ark-path>:<byte-offset>`. At the offset a binary Kaldi matrix starts:
`\\0B` and a type token, then
- `FM `/`DM ` (uncompressed float/double): `\\4<int32 rows>\\4<int32 cols>` and the rows, row-major.
  A chunk of rows [s, s+n) is one `pread` of n*cols*itemsize bytes at header + s*cols*itemsize.
- `CM2 `/`CM3 ` (2-/1-byte linear compression): a 16-byte global header (min, range, rows, cols),
  then the rows, row-major: the chunk is read and decoded alone.
- `CM ` (Kaldi's default speech-feature compression, `compress=true`): the global header, 8 bytes
  of percentiles per column, then the data COLUMN-major, one byte per value. A chunk touches every
  column: the byte span from the chunk's first row of column 0 to its last row of the last column
  is read in one go when it is small (short matrices: about the whole matrix, 1 byte per value),
  and a chunk of a long matrix is read column by column (one small read each), so that its cost
  and memory follow the chunk, not the recording. Only the chunk's bytes are decoded.
Anything else (pipes, `[a:b]` ranges, text arks) falls back to `kaldiio.load_mat` of the whole
matrix plus slicing. Decoding follows kaldiio's own GlobalHeader / PerColHeader, so a chunk equals
the slice of kaldiio's full read. `pread` never moves a shared file offset, and descriptors are
reopened when the process id changes, so forked DataLoader workers never share one.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import kaldiio
import numpy as np
from kaldiio.compression_header import GlobalHeader, PerColHeader

from common.errors import FormatError

_UNCOMPRESSED = {b"FM": np.dtype("<f4"), b"DM": np.dtype("<f8")}
_COMPRESSED = {b"CM": np.dtype("u1"), b"CM2": np.dtype("<u2"), b"CM3": np.dtype("u1")}
# A `CM` chunk whose column-major byte span is over this (and over 4x its own bytes) is read column
# by column: 80 small reads cost less than reading 1 MB.
CM_SPAN_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class MatInfo:
    """Where a matrix lives and its shape. `kind` is the Kaldi type token ('FM', 'CM', ...), or None
    when the matrix can only be read whole through kaldiio; `data` is the offset of the values;
    vmin/vrange the compressed matrices' global header. Slotted: one per utterance, kept by every
    DataLoader worker."""
    rspec: str
    path: str | None
    rows: int
    cols: int
    kind: str | None = None
    data: int = 0
    vmin: float = 0.0
    vrange: float = 0.0

    @property
    def header(self) -> GlobalHeader | None:
        if self.kind not in ("CM", "CM2", "CM3"):
            return None
        return GlobalHeader(self.kind, self.vmin, self.vrange, self.rows, self.cols)


def _split_rspec(rspec: str) -> tuple[str | None, int | None]:
    """`a.ark:123` -> ('a.ark', 123); pipes, ranges and offset-less paths -> (None, None)."""
    s = rspec.strip()
    if s.endswith("|") or s.startswith("|") or ("[" in s and s.endswith("]")):
        return None, None
    path, sep, off = s.rpartition(":")
    if not sep or not off.isdigit():
        return None, None
    return path, int(off)


class FeatReader:
    """Reads whole matrices or row chunks given `feats.scp` entries (`utt -> rspecifier`)."""

    def __init__(self, scp: dict[str, str], where: str = "feats.scp") -> None:
        self.scp = scp
        self.where = where
        self._fds: dict[str, int] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fds"] = {}
        return state

    def close(self) -> None:
        if self._pid == os.getpid():
            for fd in self._fds.values():
                os.close(fd)
        self._fds = {}

    def _fd(self, path: str) -> int:
        if self._pid != os.getpid():  # forked worker: never share descriptors with the parent
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(path)
        if fd is None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as e:
                raise FormatError(f"{self.where}: cannot open ark {path}: {e.strerror}") from None
            self._fds[path] = fd
        return fd

    def _pread(self, utt: str, path: str, nbytes: int, offset: int) -> bytes:
        buf = os.pread(self._fd(path), nbytes, offset)
        if len(buf) != nbytes:
            raise FormatError(f"{self.where}: {utt!r}: ark {path} is truncated (wanted {nbytes} bytes at "
                              f"byte {offset}); re-run feature extraction")
        return buf

    def info(self, utt: str) -> MatInfo:
        """Shape and layout from the matrix header (a few bytes)."""
        rspec = self.scp[utt]
        path, offset = _split_rspec(rspec)
        if path is not None:
            head = os.pread(self._fd(path), 32, offset)
            token = head[2:].split(b" ", 1)[0] if head[:2] == b"\0B" else b""
            start = offset + 2 + len(token) + 1
            if token in _UNCOMPRESSED and len(head) >= 15:
                rows, cols = struct.unpack("<xixi", head[5:15])
                return MatInfo(rspec, path, rows, cols, token.decode(), offset + 15)
            if token in _COMPRESSED and len(head) >= start - offset + 16:
                vmin, vrange, rows, cols = struct.unpack("<ffii", head[start - offset:start - offset + 16])
                return MatInfo(rspec, path, rows, cols, token.decode(), start + 16, vmin, vrange)
        mat = self._load_full(utt, rspec)
        return MatInfo(rspec, None, mat.shape[0], mat.shape[1])

    def _load_full(self, utt: str, rspec: str) -> np.ndarray:
        try:
            mat = kaldiio.load_mat(rspec)
        except Exception as e:  # kaldiio raises assorted errors for bad offsets/files
            raise FormatError(f"{self.where}: cannot read features of {utt!r} from {rspec!r}: {e}") from None
        mat = np.asarray(mat)
        if mat.ndim != 2:
            raise FormatError(f"{self.where}: {utt!r} is not a matrix (shape {mat.shape})")
        return mat

    def read(self, utt: str, start: int = 0, length: int | None = None,
             info: MatInfo | None = None) -> np.ndarray:
        """Rows [start, start+length) as float32 (all rows from `start` when length is None)."""
        info = info or self.info(utt)
        stop = info.rows if length is None else start + length
        if not 0 <= start <= stop <= info.rows:
            raise IndexError(f"{utt}: rows [{start}, {stop}) outside a matrix of {info.rows} rows")
        n, cols = stop - start, info.cols
        if info.kind is None:
            return np.ascontiguousarray(self._load_full(utt, info.rspec)[start:stop], dtype=np.float32)
        if info.kind == "CM":
            return self._read_cm(utt, info, start, n)
        dtype = _UNCOMPRESSED.get(info.kind.encode()) or _COMPRESSED[info.kind.encode()]
        row_bytes = cols * dtype.itemsize
        buf = self._pread(utt, info.path, n * row_bytes, info.data + start * row_bytes)
        mat = np.frombuffer(buf, dtype=dtype).reshape(n, cols)
        header = info.header
        if header is not None:
            return header.uint_to_float(mat).astype(np.float32)
        return mat.astype(np.float32)  # copies: frombuffer arrays are read-only

    def _read_cm(self, utt: str, info: MatInfo, start: int, n: int) -> np.ndarray:
        rows, cols = info.rows, info.cols
        if n == 0:
            return np.zeros((0, cols), np.float32)
        head = self._pread(utt, info.path, 8 * cols, info.data)
        pct = info.header.uint_to_float(np.frombuffer(head, dtype="<u2")).reshape(-1, 4, 1)
        percol = PerColHeader(pct[:, 0], pct[:, 1], pct[:, 2], pct[:, 3])
        base = info.data + 8 * cols + start
        span = (cols - 1) * rows + n
        if span <= max(CM_SPAN_BYTES, 4 * n * cols):
            # One read from the chunk's first byte of column 0 to its last of the last column; the
            # [cols, n] view strides over the rest.
            buf = np.frombuffer(self._pread(utt, info.path, span, base), dtype=np.uint8)
            data = np.lib.stride_tricks.as_strided(buf, (cols, n), (rows, 1), writeable=False)
        else:
            # A short chunk of a long matrix (pytorch.chunked on a long recording): a read per column,
            # so the cost and memory follow the chunk, not the recording.
            data = np.empty((cols, n), np.uint8)
            for c in range(cols):
                data[c] = np.frombuffer(self._pread(utt, info.path, n, base + c * rows), dtype=np.uint8)
        return np.ascontiguousarray(percol.char_to_float(data).T, dtype=np.float32)
