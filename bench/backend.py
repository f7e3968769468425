"""Back-end speed at CN-Celeb.E scale: cosine + AS-Norm from ark/scp to a score file, and metrics.

Workload (issue #3): 196 enroll speakers x 17,777 test utterances = 3,484,292 trials, 256-dim
embeddings, an AS-Norm cohort of 2,793 speaker means, top-300. Prints each figure with its target.
    . ./path.sh && python bench/backend.py [--workdir /tmp/asvlab_bench]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from score.bin import compute_metrics, norm, score
from score.embeddings import write_embeddings

N_ENROLL, N_TEST, N_COHORT, DIM, TOP_N = 196, 17_777, 2_793, 256, 300


def make_workload(d: str, rng: np.random.Generator) -> dict[str, str]:
    spk = rng.normal(size=(N_ENROLL, DIM)).astype(np.float32)
    test_spk = rng.integers(0, N_ENROLL, N_TEST)
    test = spk[test_spk] + 1.5 * rng.normal(size=(N_TEST, DIM)).astype(np.float32)
    enroll = spk + 0.7 * rng.normal(size=(N_ENROLL, DIM)).astype(np.float32)
    cohort = rng.normal(size=(N_COHORT, DIM)).astype(np.float32)
    ek = [f"spk{i:04d}" for i in range(N_ENROLL)]
    tk = [f"utt{i:06d}" for i in range(N_TEST)]
    paths = {}
    for name, keys, x in (("enroll", ek, enroll), ("test", tk, test), ("cohort", None, cohort)):
        keys = keys or [f"c{i:05d}" for i in range(len(x))]
        write_embeddings(keys, x, f"{d}/{name}.ark", f"{d}/{name}.scp")
        paths[name] = f"{d}/{name}.scp"
    with open(f"{d}/trials", "w") as f:  # every enroll speaker against every test utterance
        lab = np.where(test_spk[None, :] == np.arange(N_ENROLL)[:, None], "target", "nontarget")
        f.writelines(f"{e} {t} {lab[i, j]}\n" for i, e in enumerate(ek) for j, t in enumerate(tk))
    paths["trials"] = f"{d}/trials"
    return paths


def timed(label: str, target: str, fn) -> float:
    t0 = time.perf_counter()
    rc = fn()
    dt = time.perf_counter() - t0
    assert rc == 0, f"{label} failed"
    print(f"{label:<58s} {dt:7.2f} s   ({target})")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/asvlab_bench_backend")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    p = make_workload(args.workdir, np.random.default_rng(0))
    d = args.workdir
    print(f"{N_ENROLL} enroll x {N_TEST} test = {N_ENROLL * N_TEST:,} trials, dim {DIM}, "
          f"cohort {N_COHORT}, top-{TOP_N}; {os.cpu_count()} cores")
    t_cos = timed("cosine scoring, scp -> score file", "part of the <= 13 s target",
                  lambda: score.main(["--method", "cosine", "--enroll", p["enroll"], "--test", p["test"],
                                      "--trials", p["trials"], "--out", f"{d}/cos"]))
    t_as = timed("AS-Norm top-300, scp + score file -> score file", "part of the <= 13 s target",
                 lambda: norm.main(["--method", "asnorm", "--top-n", str(TOP_N), "--cohort", p["cohort"],
                                    "--enroll", p["enroll"], "--test", p["test"], "--scores", f"{d}/cos",
                                    "--out", f"{d}/asnorm"]))
    print(f"{'cosine + AS-Norm end to end':<58s} {t_cos + t_as:7.2f} s   (target <= 13 s, stretch <= 8 s; "
          f"WeSpeaker ~20 min + 36 s)")
    timed("EER + minDCF from the 3.5M-trial score file", "target < 3 s; WeSpeaker 8.5 s",
          lambda: compute_metrics.main(["--trials", p["trials"], "--scores", f"{d}/asnorm"]))


if __name__ == "__main__":
    main()
