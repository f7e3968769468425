"""Small, shared file helpers: atomic writes and Kaldi-style table reading.

Everything here is numpy-free so that both packages (`score`, `pytorch`) and the CLIs can use it.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


_UMASK = os.umask(0)
os.umask(_UMASK)


class FormatError(ValueError):
    """A malformed input file; the message names the file, the line and the fix."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Write to a temp file next to `path`, then rename: a failed write never leaves a complete-looking
    file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_table(path: str | os.PathLike, min_cols: int, max_cols: int | None = None) -> list[list[str]]:
    """Whitespace-separated rows; blank lines skipped; column count checked per line."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < min_cols or (max_cols is not None and len(parts) > max_cols):
                want = f"{min_cols}" if max_cols == min_cols else f"{min_cols}..{max_cols or 'n'}"
                raise FormatError(f"{path}:{n}: expected {want} fields, got {len(parts)}: {line.strip()!r}")
            rows.append(parts)
    return rows


def read_kv(path: str | os.PathLike) -> dict[str, str]:
    """Kaldi `key rest-of-line` table (e.g. wav.scp, utt2spk). Duplicate keys are an error."""
    out: dict[str, str] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise FormatError(f"{path}:{n}: expected '<key> <value>', got {line!r}")
            if parts[0] in out:
                raise FormatError(f"{path}:{n}: duplicate key {parts[0]!r}; run utils/fix_data_dir.sh")
            out[parts[0]] = parts[1]
    return out


def read_spk2utt(path: str | os.PathLike) -> dict[str, list[str]]:
    """`spk utt1 utt2 ...` lines."""
    return {r[0]: r[1:] for r in read_table(path, 2)}
