"""Kaldi trial lists (`enroll test target|nontarget`), SASV lists and score files (`enroll test score`):
the one reader (`read_pairs`, under every reader here) and the one score-file writer (`write_score_file`).

Ids come back as UTF-8 bytes arrays ('S'), whatever the layout: canonical files (single spaces, three fields)
are parsed vectorised (score/textcols.py), others line by line. An (enroll, test) pair may appear once per
file: a repeated trial would be counted twice by the metrics, so the reader refuses it, naming both lines.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

from common.errors import FormatError
from common.io import atomic_write, require_file
from score.textcols import Cols3, format_lines, parse3, parse_floats

LABELS = ("target", "nontarget")
SASV_LABELS = ("target", "nontarget", "spoof")


def _columns(path: str, ncols: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """General reader: [N, ncols] 'S' array of the first ncols fields of each non-blank line, and the
    1-based line numbers of those lines."""
    rows, lines = [], []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < ncols:
                raise FormatError(f"{path}:{n}: expected at least {ncols} fields for a {what}, "
                                  f"got {line.decode(errors='replace').strip()!r}")
            rows.append(parts[:ncols])
            lines.append(n)
    if not rows:
        raise FormatError(f"{path}: empty {what}")
    return np.array(rows, dtype=bytes).reshape(-1, ncols), np.array(lines)


def read_pairs(path: str, what: str = "trial list", third: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(enroll ids, test ids, third fields) of a 3-column file as 'S' arrays; a repeated pair is an error.

    With third=False, `enroll test` files (unlabelled trials) are read too and the third field is None.
    """
    e, t, third_col, _ = _read(path, what, third)
    return e, t, third_col


def _read(path: str, what: str, third: bool = True
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """read_pairs plus the line numbers (None on the canonical layout, where line = index + 1)."""
    require_file(path, what)
    with open(path, "rb") as f:
        data = f.read()
    c = parse3(data) if third else (parse3(data) or parse3(data, 2))
    if c is not None:
        e, t, col, lines = c.field(0), c.field(1), c.field(2) if third else None, None
    else:
        cols, lines = _columns(path, 3 if third else 2, what)
        e, t, col = cols[:, 0], cols[:, 1], cols[:, 2] if third else None
    reject_repeated_pairs(path, what, e, t, lines)
    return e, t, col, lines


def _line(lines: np.ndarray | None, i: int) -> int:
    return i + 1 if lines is None else int(lines[i])


_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(9)], np.uint64)  # the low i bytes of a word


def _range_hash(buf: np.ndarray, lo: np.ndarray, n: np.ndarray | int, acc: np.ndarray) -> np.ndarray:
    """Fold the bytes buf[lo[i]:lo[i] + n[i]] into acc[i] (a 64-bit FNV-style hash), 8 bytes per vector
    step through unaligned 8-byte loads, so no per-byte gather and no copy of the fields is needed.
    (Little-endian masks; on a big-endian machine a repeat could be missed, never invented.)"""
    padded = np.concatenate([buf, np.zeros(8, np.uint8)])
    words = as_strided(padded, shape=(len(buf) + 1, 8), strides=(1, 1)).view(np.uint64)[:, 0]
    for k in range(0, int(np.max(n)), 8):
        word = words[lo + k]
        left = n - k  # bytes of each range in this word; mask off those beyond its end
        if np.min(left) < 8:
            word &= _MASKS[np.clip(left, 0, 8)]
        acc ^= word
        acc *= np.uint64(0x100000001B3)
        acc ^= acc >> np.uint64(29)
    return acc


def _fixed_hash(ids: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """_range_hash over the NUL-padded items of an 'S' array."""
    ids = np.ascontiguousarray(ids)
    w = ids.dtype.itemsize
    return _range_hash(ids.view(np.uint8), np.arange(len(ids)) * w, w, acc)


def _seed(n: int) -> np.ndarray:
    return np.full(n, np.uint64(0xCBF29CE484222325))


def reject_repeated_pairs(path: str, what: str, e: np.ndarray, t: np.ndarray,
                          lines: np.ndarray | None = None) -> None:
    """FormatError naming the first line whose (enroll, test) pair ('S' ids) appeared on an earlier line."""
    if len(e) > 1:
        h = _fixed_hash(t, _fixed_hash(e, _seed(len(e))) ^ np.uint64(0x9E3779B97F4A7C15))
        _reject(path, what, h, lambda i: (bytes(e[i]), bytes(t[i])), lines)


def _reject_repeated_keys(path: str, what: str, c: Cols3) -> None:
    """reject_repeated_pairs on a canonical file's `enroll test` byte ranges, without gathering the fields."""
    if len(c) > 1:
        h = _range_hash(c.buf, c.starts, c.sep2 - c.starts, _seed(len(c)))
        _reject(path, what, h, lambda i: tuple(c.buf[c.starts[i]:c.sep2[i]].tobytes().split(b" ", 1)), None)


def _reject(path: str, what: str, h: np.ndarray, pair_of: Callable[[int], tuple[bytes, ...]],
            lines: np.ndarray | None) -> None:
    """Sort the pair hashes (vectorised, no string sort); only lines whose hashes collide are compared
    exactly, so millions of trials cost a fraction of a second."""
    s = np.sort(h)
    same = s[1:] == s[:-1]
    if not same.any():
        return
    first: dict[tuple[bytes, ...], int] = {}
    for i in np.flatnonzero(np.isin(h, s[1:][same])).tolist():
        pair = pair_of(i)
        if pair in first:
            raise FormatError(f"{path}:{_line(lines, i)}: {_s(pair[0])} {_s(pair[1])} repeats line "
                              f"{_line(lines, first[pair])}; each pair must appear once in a {what}")
        first[pair] = i


def _labels(path: str, lab: np.ndarray, lines: np.ndarray | None, valid: tuple[str, ...]) -> None:
    ok = np.isin(lab, np.array([v.encode() for v in valid]))
    if not ok.all():
        i = int(np.argmin(ok))
        raise FormatError(f"{path}:{_line(lines, i)}: label {_s(lab[i])!r} is not {'/'.join(valid)}")


def read_trials(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`enroll test target|nontarget` -> (enroll ids, test ids, is_target bool)."""
    e, t, lab, lines = _read(path, "trial list")
    _labels(path, lab, lines, LABELS)
    return e, t, lab == b"target"


def read_sasv_trials(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SASV `enroll_spk test_utt target|nontarget|spoof` -> (enroll ids, test ids, label strings as 'S').

    A plain Kaldi trial list (no spoof lines) is accepted too.
    """
    e, t, lab, lines = _read(path, "trial list")
    _labels(path, lab, lines, SASV_LABELS)
    return e, t, lab


def read_scores(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`enroll test score` -> (enroll ids, test ids, float64 scores); NaN/inf or a non-number is an error."""
    return _read_scores(path)[:3]


def _read_scores(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    e, t, col, lines = _read(path, "score file")
    s = parse_floats(col)
    if s is None:
        for i, v in enumerate(col.tolist()):
            try:
                float(v)
            except ValueError:
                raise FormatError(f"{path}:{_line(lines, i)}: score {_s(v)!r} is not a number") from None
    bad = np.flatnonzero(~np.isfinite(s))
    if len(bad):
        i = int(bad[0])
        raise FormatError(f"{path}:{_line(lines, i)}: score is {_s(col[i])} ({_s(e[i])} {_s(t[i])}); "
                          "fix the scoring run")
    return e, t, s, lines


def join_scores(enroll: np.ndarray, test: np.ndarray, path: str) -> np.ndarray:
    """Scores of `path` for the pairs (enroll[i], test[i]) ('S' ids), whatever order the file is in."""
    e, t, s, lines = _read_scores(path)
    if len(e) == len(enroll) and (e == enroll).all() and (t == test).all():
        return s
    index = dict(zip(zip(e.tolist(), t.tolist()), range(len(e))))
    rows = np.fromiter((index.get(p, -1) for p in zip(enroll.tolist(), test.tolist())), np.int64, len(enroll))
    if len(rows) and rows.min() < 0:
        i = int(np.argmin(rows))
        raise FormatError(f"{path}: no score for trial pair {_s(enroll[i])} {_s(test[i])}; "
                          "rescore with this trial list")
    if len(e) > len(enroll):
        extra = np.ones(len(e), bool)
        extra[rows] = False
        i = int(np.argmax(extra))
        raise FormatError(f"{path}:{_line(lines, i)}: score for {_s(e[i])} {_s(t[i])} has no trial; "
                          "score with the same trial list")
    return s[rows]


def trial_scores(trials: str, scores: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores in trial order, is_target) of a Kaldi trial list and a score file.

    Fast path (vectorised, see score/textcols.py): both files canonical and the score file in trial
    order, the usual case for files written by score.bin.score/norm. Otherwise, or on any anomaly, the
    general readers run, with their per-line error messages.
    """
    require_file(trials, "trial list")
    require_file(scores, "score file")
    with open(trials, "rb") as f:
        tc = parse3(f.read())
    with open(scores, "rb") as f:
        sc = parse3(f.read())
    if tc is not None and sc is not None and len(tc.ends) == len(sc.ends):
        lab, col = tc.third(9), sc.third(64)
        if lab is not None and col is not None:
            is_t = lab == b"target"
            s = parse_floats(col)
            if ((is_t | (lab == b"nontarget")).all() and s is not None and np.isfinite(s).all()
                    and tc.same_keys(sc)):
                # the score file holds the same pairs in the same order: checking the trials suffices
                _reject_repeated_keys(trials, "trial list", tc)
                return s, is_t
    e, t, is_t = read_trials(trials)
    return join_scores(e, t, scores), is_t


def write_score_file(path: str, enroll_ids: np.ndarray, test_ids: np.ndarray, scores: np.ndarray) -> None:
    """`enroll test score` lines (score as %.6f), written atomically: the one score-file writer."""
    if enroll_ids.dtype.kind == "S" and test_ids.dtype.kind == "S":
        data = format_lines(enroll_ids, test_ids, scores)
    else:
        data = "".join(f"{_s(e)} {_s(t)} {v:.6f}\n" for e, t, v in
                       zip(enroll_ids.tolist(), test_ids.tolist(), np.asarray(scores).tolist())).encode()
    with atomic_write(path, "wb") as f:
        f.write(data)


def _s(x: str | bytes) -> str:
    return x.decode(errors="replace") if isinstance(x, (bytes, np.bytes_)) else str(x)


def lookup(table: Mapping[str, object], ids: np.ndarray, source: str) -> np.ndarray:
    """table[id] for each trial id ('S' or str), looked up once per distinct id: object array [N].
    An id missing from the table is an error naming it and `source` (the table's file)."""
    uniq, inv = np.unique(np.asarray(ids), return_inverse=True)
    vals = []
    for key in uniq.tolist():
        key = _s(key)
        if key not in table:
            raise FormatError(f"{source}: no entry for {key!r}; every trial id needs one")
        vals.append(table[key])
    return np.array(vals, dtype=object)[inv.ravel()]
