"""Kaldi trial lists (`enroll test target|nontarget`), SASV lists, and score files (`enroll test score`),
joined by the (enroll, test) pair."""
from __future__ import annotations

import os

import numpy as np

from common.errors import FormatError
from common.io import atomic_write
from score.textcols import format_lines, parse3, parse_floats

LABELS = {"target": True, "nontarget": False}


def _require(path: str | os.PathLike) -> None:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")


def _columns(path: str, ncols: int, what: str) -> np.ndarray:
    """[N, ncols] object array of the first ncols fields of each line (fast path: one split())."""
    _require(path)
    with open(path) as f:
        text = f.read()
    tokens = text.split()
    if not tokens:
        raise ValueError(f"{path}: empty {what}")
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    width = len(text[:text.find("\n")].split()) if "\n" in text else len(tokens)
    if width >= ncols and len(tokens) == width * lines:  # fast path: every line has `width` fields
        return np.array(tokens, dtype=object).reshape(-1, width)[:, :ncols]
    rows = []  # slow path: blank lines, extra columns or a malformed line
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < ncols:
            raise FormatError(f"{path}:{n}: expected at least {ncols} fields for a {what}, "
                              f"got {line.strip()!r}")
        rows.append(parts[:ncols])
    return np.array(rows, dtype=object).reshape(-1, ncols)


def read_trials(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`enroll test target|nontarget` -> (enroll ids, test ids, is_target bool)."""
    cols = _columns(path, 3, "trial list")
    lab = cols[:, 2]
    is_t, is_n = lab == "target", lab == "nontarget"
    bad = np.flatnonzero(~(is_t | is_n))
    if len(bad):
        raise FormatError(f"{path}: trial {bad[0] + 1}: label {lab[bad[0]]!r} is not target/nontarget")
    return cols[:, 0], cols[:, 1], is_t.astype(bool)


SASV_LABELS = ("target", "nontarget", "spoof")


def read_sasv_trials(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SASV `enroll_spk test_utt target|nontarget|spoof` -> (enroll ids, test ids, label strings).

    A plain Kaldi trial list (no spoof lines) is accepted too.
    """
    cols = _columns(path, 3, "trial list")
    lab = cols[:, 2]
    ok = np.isin(lab, np.array(SASV_LABELS, dtype=object))
    bad = np.flatnonzero(~ok)
    if len(bad):
        raise FormatError(f"{path}: trial {bad[0] + 1}: label {lab[bad[0]]!r} is not one of "
                          f"{'/'.join(SASV_LABELS)}")
    return cols[:, 0], cols[:, 1], lab


def read_scores(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`enroll test score` -> (enroll ids, test ids, float64 scores); NaN/inf is an error."""
    cols = _columns(path, 3, "score file")
    try:
        s = cols[:, 2].astype(np.float64)
    except ValueError:
        for i, v in enumerate(cols[:, 2]):
            try:
                float(v)
            except ValueError:
                raise FormatError(f"{path}: line {i + 1}: score {v!r} is not a number") from None
        raise
    bad = np.flatnonzero(~np.isfinite(s))
    if len(bad):
        raise FormatError(f"{path}: line {bad[0] + 1}: score is {cols[bad[0], 2]}; fix the scoring run")
    return cols[:, 0], cols[:, 1], s


def join_scores(enroll: np.ndarray, test: np.ndarray, path: str) -> np.ndarray:
    """Scores of `path` for the pairs (enroll[i], test[i]), whatever order the file is in."""
    e, t, s = read_scores(path)
    if len(e) == len(enroll) and (e == enroll).all() and (t == test).all():
        return s
    if len(e) > len(enroll) or len(set(zip(e.tolist(), t.tolist()))) != len(e):
        _extra_score(e, t, enroll, test, path)
    index = dict(zip(zip(e.tolist(), t.tolist()), range(len(e))))
    out = np.empty(len(enroll))
    for i, pair in enumerate(zip(enroll.tolist(), test.tolist())):
        j = index.get(pair)
        if j is None:
            raise KeyError(f"{path}: no score for trial pair {pair[0]} {pair[1]}; "
                           "rescore with this trial list")
        out[i] = s[j]
    return out


def trial_scores(trials: str, scores: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores in trial order, is_target) of a Kaldi trial list and a score file.

    Fast path (vectorised, see score/textcols.py): both files canonical and the score file in trial
    order, the usual case for files written by score.bin.score/norm. Otherwise, or on any anomaly, the
    general readers run, with their per-line error messages.
    """
    _require(trials)
    _require(scores)
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
                    and tc.key_blob() == sc.key_blob()):
                return s, is_t
    e, t, is_t = read_trials(trials)
    return join_scores(e, t, scores), is_t


def read_pairs(path: str, what: str = "trial list", third: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(enroll ids, test ids, third field) of a 3-column file, vectorised for the canonical layout.

    With third=False, `enroll test` files (unlabelled trials) are read too and the third field is None.
    Ids come back as 'S' (UTF-8 bytes) arrays on the fast path and as str object arrays otherwise; every
    consumer here (score.cosine.index_ids, write_score_file) accepts both.
    """
    _require(path)
    with open(path, "rb") as f:
        data = f.read()
    c = parse3(data)
    if c is not None:
        return c.field(0), c.field(1), c.field(2) if third else None
    if not third:
        c = parse3(data, 2)
        if c is not None:
            return c.field(0), c.field(1), None
    cols = _columns(path, 3 if third else 2, what)
    return cols[:, 0], cols[:, 1], cols[:, 2] if third else None


def read_score_columns(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like read_scores (same checks and messages), vectorised for the canonical layout."""
    e, t, third = read_pairs(path, "score file")
    if third.dtype.kind == "S":
        s = parse_floats(third)
        if s is not None and np.isfinite(s).all():
            return e, t, s
    return read_scores(path)  # the general reader names the bad line


def write_score_file(path: str, enroll_ids: np.ndarray, test_ids: np.ndarray, scores: np.ndarray) -> None:
    """`enroll test score` lines (score as %.6f), written atomically."""
    if enroll_ids.dtype.kind == "S" and test_ids.dtype.kind == "S":
        data = format_lines(enroll_ids, test_ids, scores)
    else:
        data = "".join(f"{_s(e)} {_s(t)} {v:.6f}\n" for e, t, v in
                       zip(enroll_ids.tolist(), test_ids.tolist(), np.asarray(scores).tolist())).encode()
    with atomic_write(path, "wb") as f:
        f.write(data)


def _s(x: str | bytes) -> str:
    return x.decode() if isinstance(x, bytes) else x


def _extra_score(e: np.ndarray, t: np.ndarray, enroll: np.ndarray, test: np.ndarray, path: str) -> None:
    """Name the first score line whose pair is not a trial (or is repeated)."""
    wanted = set(zip(enroll.tolist(), test.tolist()))
    seen: set = set()
    for n, pair in enumerate(zip(e.tolist(), t.tolist()), 1):
        if pair not in wanted:
            raise KeyError(f"{path}: line {n}: score for {pair[0]} {pair[1]} has no trial; "
                           "score with the same trial list")
        if pair in seen:
            raise KeyError(f"{path}: line {n}: pair {pair[0]} {pair[1]} scored twice")
        seen.add(pair)
