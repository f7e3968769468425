"""Vectorised parsing and writing of three-column text files (`enroll test score` and `enroll test label`).

Python-level splitting of 3.5M lines costs seconds; here the file is one uint8 array and the columns are
located with vectorised searches. Only the canonical layout is handled (single spaces, exactly three
fields per line, no blank lines, no CR); anything else returns None and the caller uses the general,
line-by-line reader, which also produces the precise error messages.

Fields are moved 8 bytes at a time: an unaligned little-endian uint64 view of the buffer gives the 8 bytes
starting at any offset in one gather, which is masked to the field's length. An id array is then the
[lines, k] uint64 matrix of its words, viewed as 'S<8k>' (NUL-padded, the 'S' convention). Work is done in
steps of CHUNK lines so that the temporaries stay in cache. Words are little-endian (x86-64, ARM64).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 16  # lines per vectorised step: the temporaries stay in cache (2x faster than 1M-line steps)
# MASKS[n]: the low n bytes of a little-endian word, i.e. its first n characters (n = 0..8).
MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
MAX_DIGITS = 15  # integers below 10**15 < 2**53 are exact in float64, so digits / 10**d is correctly rounded
POW10 = np.array([float(10 ** i) for i in range(MAX_DIGITS + 1)])  # exact; np.power may be a few ulps off


def _u64(buf: np.ndarray) -> np.ndarray:
    """The 8 bytes at each offset of buf (len >= 8) as a little-endian uint64; unaligned, no copy."""
    return np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))


def _words_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The 8 bytes of buf from each of pos (bytes past the end read as NUL)."""
    if len(buf) < 8:
        buf = np.concatenate([buf, np.zeros(8, np.uint8)])
    last = len(buf) - 8
    if not len(pos) or pos.max() <= last:
        return _u64(buf)[pos]
    w = _u64(buf)[np.minimum(pos, last)]
    late = np.flatnonzero(pos > last)  # the last few bytes: shift the final word down instead
    w[late] >>= ((pos[late] - last) * 8).astype(np.uint64)
    return w


def gather_words(buf: np.ndarray, lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Byte ranges [lo, lo + n) of buf as a [len(lo), k] uint64 matrix, NUL-padded (k = ceil(max n / 8))."""
    k = max(-(-int(n.max()) // 8), 1) if len(n) else 1
    out = np.empty((len(lo), k), np.uint64)
    for c in range(0, len(lo), CHUNK):
        lo_c, n_c = lo[c:c + CHUNK], n[c:c + CHUNK]
        fixed = int(n_c[0]) if n_c.min() == n_c.max() else None  # one length (e.g. utt000001): scalar masks
        for j in range(k):
            if fixed is None:
                mask = MASKS[np.clip(n_c - 8 * j, 0, 8)]
            else:
                mask = MASKS[min(max(fixed - 8 * j, 0), 8)]
            out[c:c + CHUNK, j] = _words_at(buf, lo_c + 8 * j) & mask
    return out


def as_words(x: np.ndarray) -> np.ndarray:
    """An 'S' array as its [len, k] uint64 words (a view when the width is a multiple of 8)."""
    w = -(-max(x.dtype.itemsize, 1) // 8) * 8
    x = np.ascontiguousarray(x if x.dtype.itemsize == w else x.astype(f"S{w}"))
    return x.view(np.uint64).reshape(len(x), w // 8)


def _as_s(words: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(words).view(f"S{8 * words.shape[1]}").ravel()


@dataclass
class Cols3:
    buf: np.ndarray     # the file as uint8 (a final newline may be missing)
    starts: np.ndarray  # first byte of each line
    sep1: np.ndarray    # position of the first space of each line
    sep2: np.ndarray    # position of the second space of each line (end of the `enroll test` key)
    ends: np.ndarray    # position of each newline (len(buf) for a missing final one)

    def __len__(self) -> int:
        return len(self.ends)

    def _span(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo = (self.starts, self.sep1 + 1, self.sep2 + 1)[i]
        return lo, (self.sep1, self.sep2, self.ends)[i] - lo

    def words(self, i: int) -> np.ndarray:
        """Field i (0, 1, 2) of every line as [lines, k] uint64 words (see gather_words)."""
        return gather_words(self.buf, *self._span(i))

    def field(self, i: int) -> np.ndarray:
        """Field i (0, 1, 2) of every line as a fixed-width bytes array ('S<8k>', NUL-padded)."""
        return _as_s(self.words(i))

    def same_keys(self, other: Cols3) -> bool:
        """Whether both files hold the same `enroll test` pairs in the same order, compared in place (8-byte
        words of both buffers) without building the id arrays."""
        n = self.sep2 - self.starts
        if len(n) != len(other) or not np.array_equal(n, other.sep2 - other.starts) \
                or not np.array_equal(self.sep1 - self.starts, other.sep1 - other.starts):
            return False
        for c in range(0, len(n), CHUNK):
            n_c, a, b = n[c:c + CHUNK], self.starts[c:c + CHUNK], other.starts[c:c + CHUNK]
            for j in range(-(-int(n_c.max()) // 8)):
                mask = MASKS[np.clip(n_c - 8 * j, 0, 8)]
                if not np.array_equal(_words_at(self.buf, a + 8 * j) & mask,
                                      _words_at(other.buf, b + 8 * j) & mask):
                    return False
        return True

    def third(self, width: int) -> np.ndarray | None:
        """Third fields as a fixed-width bytes array, or None if one is wider than `width`."""
        n = self.ends - self.sep2 - 1
        if len(n) == 0 or n.max() > width:
            return None
        return self.field(2)


def format_lines(e: np.ndarray, t: np.ndarray, scores: np.ndarray, decimals: int = 6) -> bytes:
    """`e t score` lines from 'S' id arrays and floats, as printf('%.<decimals>f') would write the score
    (rounded from the float64 value; the last digit may differ from printf in rare half-way cases)."""
    s = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(s).all() or np.abs(s).max(initial=0.0) >= 1e12:
        raise ValueError("scores must be finite and below 1e12 in magnitude to be written")
    return b"".join([_format_chunk(e[c:c + CHUNK], t[c:c + CHUNK], s[c:c + CHUNK], decimals)
                     for c in range(0, len(s), CHUNK)])  # join copies the chunks once


def _number_words(s: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """'%.<decimals>f' of each score as left-aligned [n, k] uint64 words (NUL-padded), and the lengths."""
    v = np.rint(s * 10.0 ** decimals).astype(np.int64)
    neg, a = np.signbit(s), np.abs(v)  # signbit: -0.0 and tiny negatives print "-0.000000", as printf does
    ip = a // 10 ** decimals
    fp = a - ip * 10 ** decimals
    n_int = max(len(str(int(ip.max(initial=0)))), 1)
    nd = np.ones(len(s), np.int64)  # integer digits per row (at least one: "0.xxx")
    for k in range(1, n_int):
        nd += ip >= 10 ** k
    length = neg + nd + 1 + decimals
    # Fast when the unsigned text fits two words with a byte to spare, and its lengths differ by at most 6
    # (the left-aligning shift stays within a word). The scores of a trial list nearly always do.
    if n_int + 1 + decimals <= 15 and n_int - int(nd.min(initial=1)) <= 6:
        return _words_fast(neg, ip, fp, nd, n_int, decimals), length
    return _words_general(neg, ip, fp, nd, n_int, decimals), length


@functools.cache
def _lut(width: int, pad_zeros: bool) -> np.ndarray:
    """Text of 0..10**width-1 right-aligned in `width` bytes (zero-padded, or NUL-padded with at least one
    digit), as little-endian uint64."""
    x = np.arange(10 ** width)
    out = np.zeros(len(x), np.uint64)
    for i in range(width):  # byte i holds the digit of 10**(width-1-i)
        p = 10 ** (width - 1 - i)
        ch = 48 + (x // p) % 10
        if not pad_zeros and i < width - 1:
            ch = np.where(x >= p, ch, 0)
        out |= ch.astype(np.uint64) << np.uint64(8 * i)
    return out


def _words_fast(neg: np.ndarray, ip: np.ndarray, fp: np.ndarray, nd: np.ndarray, n_int: int,
                decimals: int) -> np.ndarray:
    """Build the unsigned text right-aligned in a 128-bit little-endian value (w0, w1) from 3-digit lookup
    tables at fixed byte offsets, then shift each row down to left-align it, leaving byte 0 for a sign."""
    last = n_int + 1 + decimals  # byte of the last digit; byte 0 stays free for the sign of the longest text
    point = ord(".") << (8 * (n_int + 1))  # the point at byte n_int + 1, set from the start
    w0 = np.full(len(ip), point if n_int < 7 else 0, np.uint64)
    w1 = np.full(len(ip), 0 if n_int < 7 else point >> 64, np.uint64)

    def put(x: np.ndarray, width: int, end: int) -> None:  # x: `width` text bytes ending at byte `end`
        b = 8 * (end - width + 1)
        if b < 64:
            w0[:] |= x << np.uint64(b)
            if b + 8 * width > 64:
                w1[:] |= x >> np.uint64(64 - b)
        else:
            w1[:] |= x << np.uint64(b - 64)

    end, rest = last, fp
    for g in range(0, decimals, 3):  # fractional digits, 3 at a time from the right, zeros kept
        width = min(3, decimals - g)
        high = rest // 10 ** width
        put(_lut(width, True)[rest - high * 10 ** width], width, end)
        rest, end = high, end - width
    end -= 1  # the point
    rest = ip
    for g in range(0, n_int, 3):  # integer digits, 3 at a time from the right; no leading zeros
        width = min(3, n_int - g)
        high = rest // 10 ** width
        part = rest - high * 10 ** width
        x = _lut(width, False)[part]  # the leading group of this row (at least one digit in group 0)
        if g:
            x = np.where(rest > 0, x, 0)
        if g + width < n_int:
            x = np.where(high > 0, _lut(width, True)[part], x)
        put(x, width, end)
        rest, end = high, end - width
    shift = (8 * (last + 1 - (nd + 1 + decimals) - neg)).astype(np.uint64)  # a shift by 64 gives 0
    out = np.empty((len(ip), 2), np.uint64)
    out[:, 0] = (w0 >> shift) | (w1 << (np.uint64(64) - shift)) | (neg * np.uint64(ord("-")))
    out[:, 1] = w1 >> shift
    return out


def _words_general(neg: np.ndarray, ip: np.ndarray, fp: np.ndarray, nd: np.ndarray, n_int: int,
                   decimals: int) -> np.ndarray:
    """Any width, one byte column per digit, then a per-row byte shift to left-align."""
    n = len(ip)
    length = neg + nd + 1 + decimals
    w = -(-(1 + n_int + 1 + decimals) // 8) * 8  # sign, integer digits, point, decimals; whole words
    num = np.zeros((n, w), np.uint8)  # right-aligned first
    for k in range(decimals):
        num[:, w - 1 - k] = 48 + (fp // 10 ** k) % 10
    num[:, w - 1 - decimals] = ord(".")
    for k in range(n_int):
        num[:, w - 2 - decimals - k] = np.where((ip >= 10 ** k) | (k == 0), 48 + (ip // 10 ** k) % 10, 0)
    rows = np.flatnonzero(neg)
    num[rows, w - length[rows]] = ord("-")
    words = num.view(np.uint64)
    q, r = np.divmod(w - length, 8)
    lo_bits, hi_bits = (8 * r).astype(np.uint64), (64 - 8 * r).astype(np.uint64)  # a shift by 64 gives 0
    k = w // 8
    flat = words.ravel()
    base = np.arange(0, n * k, k)
    out = np.empty((n, k), np.uint64)
    for j in range(k):
        cur, nxt = (np.where(src < k, flat[base + np.minimum(src, k - 1)], 0) for src in (j + q, j + q + 1))
        out[:, j] = (cur >> lo_bits) | (nxt << hi_bits)
    return out


def _format_chunk(e: np.ndarray, t: np.ndarray, s: np.ndarray, decimals: int) -> memoryview:
    """Lines written into one buffer by 8-byte stores at each field's offset. A store may run past its
    field; the stores are ordered so that what follows is written later (ids, then separators), and the
    numbers, last, are blended into the words they share with their neighbours."""
    ew, tw = as_words(e), as_words(t)
    le, lt = np.char.str_len(e).astype(np.int64), np.char.str_len(t).astype(np.int64)
    nw, ln = _number_words(s, decimals)
    size = le + lt + ln + 3
    start = np.cumsum(size) - size
    t0, n0 = start + le + 1, start + le + lt + 2
    nxt = start + size  # start of the next line
    # Stores stay inside their own line (ids followed by at least a separator and a 4-byte number) ...
    ok = (le.min(initial=1) > 0) & (lt.min(initial=1) > 0) & (ln.min(initial=8) >= 5)
    # ... and a number's last word does not reach the next line's number.
    ok &= bool((n0[1:] >= n0[:-1] + 8 * -(-ln[:-1] // 8)).all())
    if not ok:
        return _format_bytes(e, t, nw, ln)
    buf = np.zeros(int(nxt[-1]) + 8 if len(s) else 8, np.uint8)
    u = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    for words, lo, n in ((ew, start, le), (tw, t0, lt)):
        for j in range(words.shape[1]):
            col = words[:, j]
            if j and (n <= 8 * j).any():
                sel = np.flatnonzero(n > 8 * j)
                u[lo[sel] + 8 * j] = col[sel]
            else:
                u[lo + 8 * j] = col
    buf[t0 - 1] = buf[n0 - 1] = ord(" ")
    buf[nxt - 1] = ord("\n")
    for j in range(nw.shape[1]):
        col = nw[:, j]
        full = ln >= 8 * (j + 1)  # words inside the number are stored whole
        if full.all():
            u[n0 + 8 * j] = col
            continue
        sel = np.flatnonzero(full)
        u[n0[sel] + 8 * j] = col[sel]
        sel = np.flatnonzero(~full & (ln > 8 * j))  # its last, partial word is blended
        pos, mask = n0[sel] + 8 * j, MASKS[ln[sel] - 8 * j]
        u[pos] = (u[pos] & ~mask) | (col[sel] & mask)
    return memoryview(buf[:len(buf) - 8])


def _format_bytes(e: np.ndarray, t: np.ndarray, nw: np.ndarray, ln: np.ndarray) -> memoryview:
    """The general layout (e.g. empty or very short ids): one [lines x width] matrix, NULs dropped."""
    n = len(ln)
    sp = np.full((n, 1), ord(" "), np.uint8)
    nl = np.full((n, 1), ord("\n"), np.uint8)
    m = np.hstack([_u8(e), sp, _u8(t), sp, nw.view(np.uint8).reshape(n, -1), nl])
    return memoryview(m[m != 0])  # NUL padding of ids and numbers drops out


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
    a = np.frombuffer(data, np.uint8)
    ws = np.flatnonzero(a <= 32)  # one pass for every separator and control byte
    if a[-1] != 10:  # a missing final newline: a virtual one past the end
        ws = np.append(ws, len(a))
    if len(ws) % ncols:
        return None
    ws = ws.reshape(-1, ncols)
    ends, sp = ws[:, -1], ws[:, :-1]
    # Canonical: per line, ncols - 1 spaces then a newline (tabs, CR, blank lines... fail here).
    if not ((a[sp] == 32).all() and (a[ends[:-1]] == 10).all()):
        return None
    starts = np.r_[0, ends[:-1] + 1]
    last = sp[:, -1]
    ok = (sp[:, 0] > starts) & (ends > last + 1)  # non-empty first and last fields
    if ncols == 3:
        ok &= sp[:, 1] > sp[:, 0] + 1
    if not ok.all():
        return None
    return Cols3(a, starts, sp[:, 0], sp[:, 1] if ncols == 3 else ends, ends)


def parse_floats(col: np.ndarray) -> np.ndarray | None:
    """'S' tokens to float64, or None if one is not a number.

    Plain decimals as written by format_lines (`-12.345600`: at most 15 digits, the same number of decimals
    on every line) are read by vectorised digit arithmetic: digits / 10**d is the correctly rounded double of
    the token, the same value as float(token). Anything else (exponents, '+', nan, inf, ragged decimals...)
    goes through numpy's conversion."""
    col = np.asarray(col)
    if col.dtype.kind == "S" and len(col):
        parts = []
        for c in range(0, len(col), CHUNK):
            parts.append(_parse_decimals(col[c:c + CHUNK], bytes(col[0])))
            if parts[-1] is None:
                break
        else:
            return np.concatenate(parts)
    try:
        return col.astype(np.float64)
    except ValueError:
        return None


def _parse_decimals(col: np.ndarray, first: bytes) -> np.ndarray | None:
    """Tokens `[-]digits.digits` with one number of decimals d (1..7), at most 16 bytes and 15 digits, as
    128-bit words: right-align, drop the point, put '0' over the sign and padding, then 8 digits per word by
    SWAR arithmetic. d is that of `first` (the file's first token). None when any token is not of that
    form."""
    if b"." not in first or col.dtype.itemsize > 16:
        return None
    d = len(first) - 1 - first.index(b".")
    if not 1 <= d <= 7:
        return None
    w = as_words(col)
    lo0 = w[:, 0]
    hi0 = w[:, 1] if w.shape[1] > 1 else np.zeros_like(lo0)
    length = np.char.str_len(col).astype(np.int64)
    neg = (lo0 & np.uint64(0xFF)) == ord("-")
    nd = length - d - 1 - neg  # integer digits
    if nd.min() < 1 or (nd + d).max() > MAX_DIGITS:
        return None
    s = (8 * (16 - length)).astype(np.uint64)  # right-align: shift up by 16 - length bytes
    low = s < 64
    lo = np.where(low, lo0 << s, 0)
    hi = np.where(low, (hi0 << s) | (lo0 >> (np.uint64(64) - s)), lo0 << (s - np.uint64(64)))
    if not (((hi >> np.uint64(8 * (7 - d))) & np.uint64(0xFF)) == ord(".")).all():
        return None
    # Drop the point (byte 15 - d): the integer part moves up one byte.
    frac = ~MASKS[8 - d]
    hi = (hi & frac) | ((hi & MASKS[7 - d]) << np.uint64(8)) | (lo >> np.uint64(56))
    lo = lo << np.uint64(8)
    pad = 16 - nd - d  # bytes before the first digit (sign and NULs) become '0'
    zeros = np.uint64(0x3030303030303030)
    m_lo, m_hi = MASKS[np.minimum(pad, 8)], MASKS[np.clip(pad - 8, 0, 8)]
    lo = (lo & ~m_lo) | (zeros & m_lo)
    hi = (hi & ~m_hi) | (zeros & m_hi)
    if not (_all_digits(lo) & _all_digits(hi)).all():
        return None
    x = (_swar8(lo) * np.uint64(10 ** 8) + _swar8(hi)) / POW10[d]
    return np.where(neg, -x, x)


def _all_digits(x: np.ndarray) -> np.ndarray:
    """Whether each of the 8 bytes of each word is an ASCII digit."""
    hi_nib, threes = np.uint64(0xF0F0F0F0F0F0F0F0), np.uint64(0x3030303030303030)
    return ((x & hi_nib) == threes) & (((x + np.uint64(0x0606060606060606)) & hi_nib) == threes)


def _swar8(x: np.ndarray) -> np.ndarray:
    """8 ASCII digits per word (first digit in the lowest byte) to their value: pairs, quads, then all 8."""
    x = x - np.uint64(0x3030303030303030)
    x = (x * np.uint64(10) + (x >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x * np.uint64(100) + (x >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    return (x * np.uint64(10000) + (x >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
