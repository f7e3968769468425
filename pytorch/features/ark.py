"""Write Kaldi ark/scp pairs atomically (shared by the feature CLIs).

kaldiio writes to temp names; on success the ark is renamed and the scp rewritten to point at
the final ark. A failed job leaves neither a complete-looking scp nor a stale ark behind.
"""
from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import kaldiio
import numpy as np

from common.io import atomic_write

# Compressed matrices over this size are spilled to disk (30 min of 80-bin fbank is 58 MB).
SPILL_BYTES = 16 << 20
SPILL_ROWS = 1 << 18


def _checked(key: str, dim: int, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for block in blocks:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[1] != dim:
            raise ValueError(f"{key}: block of shape {block.shape}, expected [t, {dim}]")
        yield block


class ArkScpWriter:
    def __init__(self, ark: str | os.PathLike, scp: str | os.PathLike, compress: bool = False) -> None:
        self.ark, self.scp = Path(ark), Path(scp)
        self.ark_tmp = self.ark.with_name(f".{self.ark.name}.{os.getpid()}.tmp")
        self.scp_tmp = self.scp.with_name(f".{self.scp.name}.{os.getpid()}.tmp")
        # All end in .tmp: the job scripts remove a killed job's leftovers by that (utils/lib/jobs.sh).
        self.spill = self.ark.with_name(f".{self.ark.name}.{os.getpid()}.spill.tmp")
        self.compress = compress
        self._helper: kaldiio.WriteHelper | None = None

    def __enter__(self) -> ArkScpWriter:
        self.ark.parent.mkdir(parents=True, exist_ok=True)
        self.scp.parent.mkdir(parents=True, exist_ok=True)
        for stale in (self.scp, self.ark):  # an old scp must not outlive a redo
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        # Kaldi's default compression for features is method 2 (kSpeechFeature).
        self._helper = kaldiio.WriteHelper(f"ark,scp:{self.ark_tmp},{self.scp_tmp}",
                                           compression_method=2 if self.compress else None)
        return self

    def __call__(self, key: str, value: np.ndarray) -> None:
        assert self._helper is not None
        self._helper(key, value)

    def write_blocks(self, key: str, rows: int, dim: int, blocks: Iterable[np.ndarray]) -> None:
        """An uncompressed float32 [rows, dim] matrix written block by block: the bytes kaldiio writes for
        the whole matrix (Kaldi's binary `FM` record), without ever holding it (long recordings)."""
        assert self._helper is not None and not self.compress
        fark = self._helper.fark
        fark.write(key.encode() + b" ")
        offset = fark.tell()
        fark.write(b"\0BFM \4" + struct.pack("<i", rows) + b"\4" + struct.pack("<i", dim))
        done = 0
        for block in _checked(key, dim, blocks):
            fark.write(block.tobytes())
            done += len(block)
        if done != rows:  # the header promised `rows`: a mismatch would corrupt the ark
            raise ValueError(f"{key}: wrote {done} rows, the header says {rows}")
        self._helper.fscp.write(f"{key} {self.ark_tmp}:{offset}\n")

    def write_compressed(self, key: str, feats: np.ndarray, cols_per_pass: int = 8) -> None:
        """A float32 matrix written with Kaldi's compression method 2 (kSpeechFeature): the bytes kaldiio
        writes, but computed a few columns at a time, because kaldiio's float64 temporaries over the whole
        matrix take several times its size (1.8 GB for 2 h of 80-bin fbank; issue 14)."""
        from kaldiio.compression_header import GlobalHeader, PerColHeader
        assert self._helper is not None and self.compress
        gh = GlobalHeader.compute(feats, 2, "<")
        if gh.type != "CM":
            return self(key, feats)
        fark = self._helper.fark
        fark.write(key.encode() + b" ")
        offset = fark.tell()
        fark.write(b"\0B")
        gh.write(fark)
        groups = [slice(c, c + cols_per_pass) for c in range(0, feats.shape[1], cols_per_pass)]
        headers = [PerColHeader.compute(feats[:, g], gh) for g in groups]  # all headers precede the data
        for h in headers:
            h.write(fark, gh)
        for g, h in zip(groups, headers):  # column-major bytes, as kaldiio's float_to_char(array.T)
            fark.write(h.float_to_char(feats[:, g].T).tobytes())
        self._helper.fscp.write(f"{key} {self.ark_tmp}:{offset}\n")
        return None

    def write_compressed_blocks(self, key: str, rows: int, dim: int, blocks: Iterable[np.ndarray],
                                in_memory_bytes: int = SPILL_BYTES) -> None:
        """A float32 [rows, dim] matrix given block by block, written with Kaldi's compression method 2:
        the bytes kaldiio writes for the whole matrix. Up to `in_memory_bytes` the matrix is assembled
        in memory; a larger one (a long recording) goes column-major to a temporary file next to the
        ark, and is compressed from there one column at a time, so that the memory does not grow with
        the recording (Kaldi's per-column headers need order statistics over all rows of a column)."""
        assert self._helper is not None and self.compress
        if rows * dim * 4 <= in_memory_bytes:
            feats = np.empty((rows, dim), np.float32)
            done = 0
            for block in _checked(key, dim, blocks):
                if done + len(block) > rows:
                    raise ValueError(f"{key}: more than the {rows} rows expected")
                feats[done:done + len(block)] = block
                done += len(block)
            if done != rows:
                raise ValueError(f"{key}: got {done} rows, expected {rows}")
            self.write_compressed(key, feats)
            return
        fd = os.open(self.spill, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, rows * dim * 4)
            done, lo, hi = 0, np.float32(np.inf), np.float32(-np.inf)
            for block in _checked(key, dim, blocks):
                if done + len(block) > rows:
                    raise ValueError(f"{key}: more than the {rows} rows expected")
                lo, hi = min(lo, block.min()), max(hi, block.max())
                cols = np.ascontiguousarray(block.T)
                for c in range(dim):   # column c of the matrix is one contiguous run of `rows` floats
                    os.pwrite(fd, cols[c].data, (c * rows + done) * 4)
                done += len(block)
            if done != rows:
                raise ValueError(f"{key}: got {done} rows, expected {rows}")
            self._compress_spill(key, fd, rows, dim, lo, hi)
        finally:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self.spill.unlink()

    def _compress_spill(self, key: str, fd: int, rows: int, dim: int, lo: np.float32, hi: np.float32) -> None:
        from kaldiio.compression_header import GlobalHeader, PerColHeader

        def column(c: int) -> np.ndarray:  # [1, rows]
            return np.frombuffer(os.pread(fd, rows * 4, c * rows * 4), np.float32).reshape(1, rows)

        # kaldiio's header from the whole matrix uses only its min, max and shape.
        gh = GlobalHeader.compute(np.array([[lo], [hi]], np.float32), 2, "<")
        gh.rows, gh.cols = rows, dim
        headers = [PerColHeader.compute(column(c).T, gh) for c in range(dim)]
        fark = self._helper.fark
        fark.write(key.encode() + b" ")
        offset = fark.tell()
        fark.write(b"\0B")
        gh.write(fark)
        for h in headers:
            h.write(fark, gh)
        for c, h in enumerate(headers):  # column-major bytes, in row blocks (float_to_char's temporaries)
            col = column(c)
            for a in range(0, rows, SPILL_ROWS):
                fark.write(h.float_to_char(col[:, a:a + SPILL_ROWS]).tobytes())
        self._helper.fscp.write(f"{key} {self.ark_tmp}:{offset}\n")

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._helper is not None
        self._helper.close()
        try:
            if exc_type is None:
                self._finish()
        finally:
            for tmp in (self.ark_tmp, self.scp_tmp, self.spill):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def _finish(self) -> None:
        os.replace(self.ark_tmp, self.ark)
        with open(self.scp_tmp) as f, atomic_write(self.scp) as out:
            for line in f:
                key, loc = line.rstrip("\n").split(" ", 1)
                offset = loc.rsplit(":", 1)[1]
                out.write(f"{key} {self.ark}:{offset}\n")


@contextlib.contextmanager
def ark_scp_writer(ark: str | os.PathLike, scp: str | os.PathLike,
                   compress: bool = False) -> Iterator[ArkScpWriter]:
    with ArkScpWriter(ark, scp, compress) as w:
        yield w
