"""Vectorised parsing of three-column text files (`enroll test score` and `enroll test label`).

Python-level splitting of 3.5M lines costs seconds; here the file is one uint8 array and the columns are
located with vectorised searches. Only the canonical layout is handled (single spaces, exactly three
fields per line, no blank lines, no CR); anything else returns None and the caller uses the general,
line-by-line reader, which also produces the precise error messages.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 20  # lines per formatting step: bounds the [lines x width] temporaries


@dataclass
class Cols3:
    buf: np.ndarray     # the file as uint8 (with a final newline)
    starts: np.ndarray  # first byte of each line
    sep1: np.ndarray    # position of the first space of each line
    sep2: np.ndarray    # position of the second space of each line (end of the `enroll test` key)
    ends: np.ndarray    # position of each newline

    def __len__(self) -> int:
        return len(self.ends)

    def field(self, i: int) -> np.ndarray:
        """Field i (0, 1, 2) of every line as a fixed-width bytes array ('S<width>')."""
        lo = (self.starts, self.sep1 + 1, self.sep2 + 1)[i]
        hi = (self.sep1, self.sep2, self.ends)[i]
        return _gather(self.buf, lo, hi - lo)

    def key_blob(self) -> bytes:
        """The `enroll test` parts of all lines, concatenated with one space after each: equal blobs of two
        files mean the same (enroll, test) pairs in the same order (ids cannot hold spaces)."""
        m = np.zeros(len(self.buf) + 1, np.int8)
        m[self.starts] = 1   # starts and second spaces are distinct positions: plain assignment is exact
        m[self.sep2 + 1] = -1
        return self.buf[np.cumsum(m[:-1], dtype=np.int8) > 0].tobytes()

    def third(self, width: int) -> np.ndarray | None:
        """Third fields as a fixed-width bytes array ('S<width>'), or None if one is wider."""
        n = self.ends - self.sep2 - 1
        if len(n) == 0 or n.max() > width:
            return None
        return self.field(2)


def _gather(buf: np.ndarray, lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Byte ranges [lo, lo + n) of buf as one 'S<max n>' array, NUL-padded.

    Filled one byte column at a time: w 1-D gathers are ~3x faster than one [lines x w] fancy index."""
    w = max(int(n.max()) if len(n) else 1, 1)
    m = np.empty((len(lo), w), np.uint8)
    last = len(buf) - 1
    for k in range(w):
        col = buf[np.minimum(lo + k, last)]
        col[n <= k] = 0  # S dtype drops trailing NULs
        m[:, k] = col
    return m.view(f"S{w}").ravel()


def format_lines(e: np.ndarray, t: np.ndarray, scores: np.ndarray, decimals: int = 6) -> bytes:
    """`e t score` lines from 'S' id arrays and floats, as printf('%.<decimals>f') would write the score
    (rounded from the float64 value; the last digit may differ from printf in rare half-way cases)."""
    s = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(s).all() or np.abs(s).max(initial=0.0) >= 1e12:
        raise ValueError("scores must be finite and below 1e12 in magnitude to be written")
    out = []
    for c in range(0, len(s), CHUNK):
        out.append(_format_chunk(e[c:c + CHUNK], t[c:c + CHUNK], s[c:c + CHUNK], decimals))
    return b"".join(out)


def _format_chunk(e: np.ndarray, t: np.ndarray, s: np.ndarray, decimals: int) -> bytes:
    n = len(s)
    v = np.rint(s * 10.0 ** decimals).astype(np.int64)
    neg, a = np.signbit(s), np.abs(v)  # signbit: -0.0 and tiny negatives print "-0.000000", as printf does
    ip, fp = a // 10 ** decimals, a % 10 ** decimals
    n_int = max(len(str(int(ip.max(initial=0)))), 1)
    w = 1 + n_int + 1 + decimals  # sign, integer digits, point, decimals
    num = np.zeros((n, w), np.uint8)
    for k in range(decimals):
        num[:, w - 1 - k] = 48 + (fp // 10 ** k) % 10
    num[:, w - 1 - decimals] = ord(".")
    nd = np.ones(n, np.int64)  # integer digits per row (at least one: "0.xxx")
    for k in range(n_int):
        col = w - 2 - decimals - k
        show = (ip >= 10 ** k) | (k == 0)
        num[:, col] = np.where(show, 48 + (ip // 10 ** k) % 10, 0)
        nd += (ip >= 10 ** (k + 1))
    rows = np.flatnonzero(neg)
    num[rows, w - 2 - decimals - nd[rows]] = ord("-")
    sp = np.full((n, 1), ord(" "), np.uint8)
    nl = np.full((n, 1), ord("\n"), np.uint8)
    m = np.hstack([_u8(e), sp, _u8(t), sp, num, nl])
    return m[m != 0].tobytes()  # NUL padding of ids and numbers drops out


def _u8(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x)
    return x.view(np.uint8).reshape(len(x), x.dtype.itemsize)


def parse3(data: bytes, ncols: int = 3) -> Cols3 | None:
    """Locate the fields of every line, or None when the file is not in the canonical layout.

    ncols=2 reads `enroll test` lists (unlabelled trials); then sep2 is the newline and field 2 is absent.
    """
    if ncols not in (2, 3):
        raise ValueError(f"ncols must be 2 or 3, got {ncols}")
    if not data:
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    a = np.frombuffer(data, np.uint8)
    ws = np.flatnonzero(a <= 32)  # one pass for every separator and control byte
    kind = a[ws]
    is_nl = kind == 10
    if not (is_nl | (kind == 32)).all():  # tabs, CR or other control bytes: not canonical
        return None
    ends, sp = ws[is_nl], ws[~is_nl]
    if len(sp) != (ncols - 1) * len(ends):
        return None
    sp = sp.reshape(-1, ncols - 1)
    starts = np.r_[0, ends[:-1] + 1]
    last = sp[:, -1]
    # ncols-1 spaces per line overall, and each line's spaces inside it with non-empty fields around
    # them: then every line has exactly ncols fields.
    ok = (sp[:, 0] > starts) & (ends > last + 1)
    if ncols == 3:
        ok &= sp[:, 1] > sp[:, 0] + 1
    if not ok.all():
        return None
    return Cols3(a, starts, sp[:, 0], sp[:, 1] if ncols == 3 else ends, ends)


def parse_floats(col: np.ndarray) -> np.ndarray | None:
    """'S' tokens to float64 (C-level conversion), or None if one is not a number."""
    try:
        return col.astype(np.float64)
    except ValueError:
        return None
