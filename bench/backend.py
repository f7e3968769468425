"""Back-end speed at CN-Celeb.E scale: cosine + AS-Norm from ark/scp to a score file, metrics,
retrieval over a 500k pool, and PLDA (when score.plda exists).

Workload (issue #3): 196 enroll speakers x 17,777 test utterances = 3,484,292 trials, 256-dim
embeddings, an AS-Norm cohort of 2,793 speaker means, top-300. Prints each figure with its target.
    . ./path.sh && python bench/backend.py [--workdir /tmp/asvlab_bench] [--parts scoring,retrieval,plda]
Thread settings come from the environment as they are (OMP_NUM_THREADS etc.).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

from common.embeddings import write_embeddings
from score.bin import compute_metrics, norm, score
from score.retrieval import retrieve

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


PARTS = ("scoring", "retrieval", "plda")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/asvlab_bench_backend")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "scoring" in parts:
        bench_scoring(args.workdir)
    if "retrieval" in parts:
        bench_retrieval()
    if "plda" in parts:
        bench_plda()


def bench_scoring(d: str) -> None:
    os.makedirs(d, exist_ok=True)
    p = make_workload(d, np.random.default_rng(0))
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


def bench_retrieval(n_pool: int = 500_000, n_targets: int = 25, topk: int = 100) -> None:
    """Pool generated block by block (as a streamed scp would arrive); peak traced numpy memory."""
    rng = np.random.default_rng(1)
    targets = rng.normal(size=(n_targets, DIM)).astype(np.float32)
    for block in (16_384, 65_536):
        def blocks():  # noqa: ANN202
            g = np.random.default_rng(2)
            for lo in range(0, n_pool, block):
                n = min(block, n_pool - lo)
                yield [f"u{lo + i}" for i in range(n)], g.standard_normal((n, DIM), dtype=np.float32)
        t0 = time.perf_counter()
        for _ in blocks():  # the cost of producing the pool alone, to separate it from ranking
            pass
        t_gen = time.perf_counter() - t0
        tracemalloc.start()
        t0 = time.perf_counter()
        retrieve(targets, blocks(), topk)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"retrieval {n_pool:,} x {DIM} pool, {n_targets} targets, top-{topk}, block {block:>6,}: "
              f"{dt:6.2f} s incl. generating the pool ({dt - t_gen:5.2f} s ranking), peak traced "
              f"{peak:6.1f} MiB (the pool itself is {n_pool * DIM * 4 / 2**20:.0f} MiB; no target)")
    print(f"process max RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def bench_plda() -> None:
    """Runs bench/plda.py (both workloads) when score.plda is importable."""
    if importlib.util.find_spec("score.plda") is None:
        print("PLDA: score.plda not present, skipped")
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plda.py")
    spec = importlib.util.spec_from_file_location("bench_plda", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv, sys.argv = sys.argv, [spec.origin]
    try:
        mod.main()  # prints: A train (WeSpeaker 11 s), A score 1M (23 s), B train+score 3.5M (< 20 s)
    finally:
        sys.argv = argv


if __name__ == "__main__":
    main()
