"""File reading shared by the back-end CLIs (train_backend, calibrate, fuse, plot_det, cp_map, breakdown).

Interim: score.embeddings / score.trials (the score-core modules) were not in the tree when these
CLIs were written; once they are, these helpers should delegate to them.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Sequence

import numpy as np

from score.io import FormatError, read_kv

USER_ERRORS = (ValueError, KeyError, FileNotFoundError, FormatError, OSError)
LABELS = {"target": True, "nontarget": False}


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """Run `body`; expected errors become one line `<prog>: error: <msg>` on stderr and exit code 1."""
    try:
        return body()
    except USER_ERRORS as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return 1


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
    if len(tokens) == ncols * lines:
        return np.array(tokens, dtype=object).reshape(-1, ncols)
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
    index = dict(zip(zip(e.tolist(), t.tolist()), range(len(e))))
    out = np.empty(len(enroll))
    for i, pair in enumerate(zip(enroll.tolist(), test.tolist())):
        j = index.get(pair)
        if j is None:
            raise KeyError(f"{path}: no score for trial pair {pair[0]} {pair[1]}; "
                           "rescore with this trial list")
        out[i] = s[j]
    return out


def load_embeddings(paths: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Keys and [N, D] float32 matrix of one or more scp files (kaldiio)."""
    import kaldiio
    keys, rows = [], []
    for path in paths:
        _require(path)
        for k, v in kaldiio.load_scp_sequential(path):
            v = np.asarray(v, dtype=np.float32).reshape(-1)
            if rows and len(v) != len(rows[0]):
                raise ValueError(f"{path}: {k} has dim {len(v)}, earlier embeddings have {len(rows[0])}")
            keys.append(k)
            rows.append(v)
    if not rows:
        raise ValueError(f"{', '.join(paths)}: no embeddings")
    return keys, np.stack(rows)


def read_float_tables(paths: Sequence[str]) -> dict[str, float]:
    """Merge `key value` tables (utt2dur, utt2num_frames) into key -> float."""
    out: dict[str, float] = {}
    for path in paths:
        _require(path)
        for k, v in read_kv(path).items():
            try:
                out[k] = float(v.split()[0])
            except ValueError:
                raise FormatError(f"{path}: {k}: value {v!r} is not a number") from None
    return out
