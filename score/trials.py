"""Kaldi trial lists (`enroll test target|nontarget`) and score files (`enroll test score`), joined by pair."""
from __future__ import annotations

import os

import numpy as np

from score.io import FormatError

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
