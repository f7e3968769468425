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


from score.embeddings import load_embeddings  # noqa: F401  (re-exported)
from score.trials import _require, join_scores, read_scores, read_trials  # noqa: F401  (re-exported)


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
