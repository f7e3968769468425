"""PLDA speed self-check (score.plda): training and trial scoring at the sizes of issue 3.

  python bench/plda.py            # both workloads
  python bench/plda.py --quick true    # small sizes, a few seconds

Workload A (WeSpeaker reference: 11 s train, 23 s for 1M trials): 20,000 x 256 embeddings of 1,000
speakers, 5 EM iterations; 1M trials drawn at random over 4,000 enroll x 20,000 test rows (the
sparse, row-wise path) and 1M trials as a dense cross product (the matmul path).
Workload B (target < 20 s together on 2 cores): 100,000 x 256 of 5,000 speakers, 10 EM
iterations, then the CN-Celeb.E trial grid 196 x 17,777 = 3,484,292 trials.
Synthetic Gaussian speakers; input float32 as read from ark files.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common.cli import add_bool
from score.plda import PLDA


def _speakers(rng: np.random.Generator, n: int, n_spk: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, n_spk, n)
    x = rng.standard_normal((n_spk, dim), dtype=np.float32)[labels] * 1.0
    x += rng.standard_normal((n, dim), dtype=np.float32) * 1.5
    return x, labels


def _time(fn):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    add_bool(ap, "--quick", False, "small sizes, a few seconds")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)
    dim = 256

    x, lab = _speakers(rng, 20000 // scale, 1000 // scale, dim)
    plda, t_train = _time(lambda: PLDA.fit(x, lab, n_iter=5))
    n_tr = 1_000_000 // scale
    enroll = rng.standard_normal((4000, dim), dtype=np.float32)
    test = rng.standard_normal((20000, dim), dtype=np.float32)
    e_idx, t_idx = rng.integers(0, 4000, n_tr), rng.integers(0, 20000, n_tr)
    _, t_sparse = _time(lambda: plda.score_trials(enroll, test, e_idx, t_idx))
    n_e = 50 // (1 if not args.quick else 5)
    e_idx2 = np.repeat(np.arange(n_e), n_tr // n_e)
    t_idx2 = np.tile(np.arange(n_tr // n_e), n_e)
    _, t_dense = _time(lambda: plda.score_trials(enroll[:n_e], test[: n_tr // n_e], e_idx2, t_idx2))
    print(f"A: train {len(x)}x{dim}, {len(np.unique(lab))} spk, 5 iters: {t_train:.2f} s (WeSpeaker 11 s)")
    print(f"A: score {n_tr} random trials (row-wise): {t_sparse:.2f} s; {len(e_idx2)} grid trials "
          f"(matmul): {t_dense:.2f} s (WeSpeaker 23 s for 1M)")

    x, lab = _speakers(rng, 100000 // scale, 5000 // scale, dim)
    t0 = time.perf_counter()
    plda = PLDA.fit(x, lab, n_iter=10)
    t_train = time.perf_counter() - t0
    n_enr, n_test = 196, 17777 // scale
    enroll = rng.standard_normal((n_enr, dim), dtype=np.float32)
    test = rng.standard_normal((n_test, dim), dtype=np.float32)
    e_idx = np.repeat(np.arange(n_enr), n_test)
    t_idx = np.tile(np.arange(n_test), n_enr)
    scores = plda.score_trials(enroll, test, e_idx, t_idx)
    total = time.perf_counter() - t0
    print(f"B: train {len(x)}x{dim}, {len(np.unique(lab))} spk, 10 iters: {t_train:.2f} s; "
          f"+ score {len(scores)} trials: total {total:.2f} s (target < 20 s)")


if __name__ == "__main__":
    main()
