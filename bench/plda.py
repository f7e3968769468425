"""PLDA speed self-check (score.plda): training and trial scoring at the sizes of issue 3.

  python bench/plda.py            # both workloads
  python bench/plda.py --quick true    # small sizes, a few seconds

Workload A (WeSpeaker reference: 11 s train, 23 s for 1M trials): 20,000 x 256 embeddings of 1,000
speakers, 5 EM iterations; 1M trials drawn at random over 4,000 enroll x 20,000 test rows (the
sparse, row-wise path) and 1M trials as a dense cross product (the matmul path).
Workload B (target < 20 s together on 2 cores): 100,000 x 256 of 5,000 speakers, 10 EM
iterations, then the CN-Celeb.E trial grid 196 x 17,777 = 3,484,292 trials.
Synthetic Gaussian speakers; input float32 as read from ark files.

--parts cli (the issue-14 comparison): workload A through the command lines, each as its own process
(start-up, imports, reading the ark/scp, writing the model and the score file all counted):
`score.bin.train_backend --chain plda:5` and `score.bin.score --method plda` against the plain-numpy
script (bench/plain_backend.py plda-train / plda-score) and, with --wespeaker <checkout>, WeSpeaker's own
wespeaker/bin/train_plda.py and eval_plda.py run from that checkout (bench/wespeaker_ref.py), alternating
run by run. Medians of --repeats; the load average and the reference commit are printed.
  python bench/plda.py --parts cli --wespeaker /path/to/wespeaker [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common.cli import add_bool
from common.embeddings import write_embeddings
from score.plda import PLDA
from score.trials import read_scores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    ap.add_argument("--parts", default="api", help="comma list of api (in process), cli (side by side)")
    ap.add_argument("--wespeaker", default=None, help="a WeSpeaker checkout (repository root) for --parts cli")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/asvlab_bench_plda")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "api" in parts:
        bench_api(args.quick)
    if "cli" in parts:
        bench_cli(args.workdir, args.wespeaker, args.repeats, 10 if args.quick else 1)


def bench_api(quick: bool) -> None:
    scale = 10 if quick else 1
    rng = np.random.default_rng(0)
    dim = 256

    x, lab = _speakers(rng, 20000 // scale, 1000 // scale, dim)
    plda, t_train = _time(lambda: PLDA.fit(x, lab, n_iter=5))
    n_tr = 1_000_000 // scale
    enroll = rng.standard_normal((4000, dim), dtype=np.float32)
    test = rng.standard_normal((20000, dim), dtype=np.float32)
    e_idx, t_idx = rng.integers(0, 4000, n_tr), rng.integers(0, 20000, n_tr)
    _, t_sparse = _time(lambda: plda.score_trials(enroll, test, e_idx, t_idx))
    n_e = 50 // (1 if not quick else 5)
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



def _write_cli_workload(d: str, scale: int) -> dict[str, str]:
    """Workload A as files: train scp + utt2spk; enroll (one utterance per enroll id, an identity utt2spk
    for WeSpeaker's eval_plda) and test scps; 1M random trials with labels."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    x, lab = _speakers(rng, 20000 // scale, 1000 // scale, 256)
    keys = [f"s{lab[i]:04d}-u{i:05d}" for i in range(len(x))]
    order = np.argsort(keys)  # Kaldi tables are sorted
    write_embeddings([keys[i] for i in order], x[order], f"{d}/train.ark", f"{d}/train.scp")
    with open(f"{d}/utt2spk", "w") as f:
        f.writelines(f"{keys[i]} s{lab[i]:04d}\n" for i in order)
    n_enr, n_test, n_tr = 4000, 20000, 1_000_000 // scale
    ek, tk = [f"e{i:04d}" for i in range(n_enr)], [f"t{i:05d}" for i in range(n_test)]
    write_embeddings(ek, _speakers(rng, n_enr, 500, 256)[0], f"{d}/enroll.ark", f"{d}/enroll.scp")
    write_embeddings(tk, _speakers(rng, n_test, 500, 256)[0], f"{d}/test.ark", f"{d}/test.scp")
    with open(f"{d}/enroll_utt2spk", "w") as f:
        f.writelines(f"{k} {k}\n" for k in ek)
    e_idx, t_idx = np.divmod(rng.choice(n_enr * n_test, n_tr, replace=False), n_test)  # distinct pairs
    lab3 = np.where(rng.random(n_tr) < 0.01, "target", "nontarget")
    with open(f"{d}/trials", "w") as f:
        f.writelines(f"{ek[e]} {tk[t]} {y}\n" for e, t, y in zip(e_idx.tolist(), t_idx.tolist(), lab3.tolist()))
    return {k: f"{d}/{k}" for k in ("train.scp", "utt2spk", "enroll.scp", "test.scp", "enroll_utt2spk", "trials")}


def _run(argv: list[str]) -> float:
    """Wall time of one subprocess; PYTHONPATH = the repo (+ the environment's, for the reference's deps)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)}
    t0 = time.perf_counter()
    res = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{res.stderr[-3000:]}")
    return dt


def _git_commit(path: str) -> str:
    res = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return res.stdout.strip()[:12] or "unknown (not a git work tree)"


def bench_cli(d: str, wespeaker: str | None, repeats: int, scale: int) -> None:
    p = _write_cli_workload(d, scale)
    py, plain = sys.executable, os.path.join(ROOT, "bench", "plain_backend.py")
    ref = [py, os.path.join(ROOT, "bench", "wespeaker_ref.py"), os.path.abspath(wespeaker)] if wespeaker else None
    ours_train = [py, "-m", "score.bin.train_backend", "--chain", "plda:5", "--train", p["train.scp"],
                  "--utt2spk", p["utt2spk"], "--out", f"{d}/ours_backend"]
    ours_score = [py, "-m", "score.bin.score", "--method", "plda", "--backend-dir", f"{d}/ours_backend",
                  "--enroll", p["enroll.scp"], "--test", p["test.scp"], "--trials", p["trials"],
                  "--out", f"{d}/ours.scores"]
    steps = {"train": {"asvlab CLI": ours_train,
                       "plain numpy": [py, plain, "plda-train", p["train.scp"], p["utt2spk"], "5",
                                       f"{d}/plain_plda.npz"]},
             "score": {"asvlab CLI": ours_score,
                       "plain numpy": [py, plain, "plda-score", f"{d}/ours_backend/00_plda.npz", p["enroll.scp"],
                                       p["test.scp"], p["trials"], f"{d}/plain.scores"]}}
    outs = {"train": [f"{d}/ours_backend", f"{d}/plain_plda.npz", f"{d}/ws/plda"],
            "score": [f"{d}/ours.scores", f"{d}/plain.scores", f"{d}/ws/scores"]}
    if ref:
        os.makedirs(f"{d}/ws", exist_ok=True)
        steps["train"]["WeSpeaker"] = ref + ["wespeaker/bin/train_plda.py", "--scp_path", p["train.scp"],
                                             "--utt2spk", p["utt2spk"], "--indim", "256", "--exp_dir",
                                             f"{d}/ws", "--iter", "5"]
        steps["score"]["WeSpeaker"] = ref + ["wespeaker/bin/eval_plda.py", "--enroll_scp_path", p["enroll.scp"],
                                             "--utt2spk", p["enroll_utt2spk"], "--test_scp_path", p["test.scp"],
                                             "--trial", p["trials"], "--score_path", f"{d}/ws/scores",
                                             "--model_path", f"{d}/ws/plda"]
    n_tr = 1_000_000 // scale
    print(f"PLDA through the command lines: train {20000 // scale} x 256, {1000 // scale} speakers, 5 EM "
          f"iterations; score {n_tr:,} random trials of 4,000 enroll x 20,000 test; {os.cpu_count()} cores; "
          f"WeSpeaker: {wespeaker + ' @ ' + _git_commit(wespeaker) if wespeaker else 'not given (--wespeaker)'}")
    load0 = os.getloadavg()
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for step, runs in steps.items():  # train before score: the score runs read the trained models
            for out in outs[step]:  # every run writes its output afresh
                shutil.rmtree(out) if os.path.isdir(out) else Path(out).unlink(missing_ok=True)
            for who, argv in runs.items():
                times.setdefault((step, who), []).append(_run(argv))
    load1 = os.getloadavg()
    ours = read_scores(f"{d}/ours.scores")[2]
    agree = f"max |asvlab - plain| = {np.abs(ours - read_scores(f'{d}/plain.scores')[2]).max():.1e}"
    if ref:
        with open(f"{d}/ws/scores") as f:
            ws = np.array(f.read().split()[2::4], dtype=np.float64)
        agree += f", max |asvlab - WeSpeaker| = {np.abs(ours - ws).max():.1e} (scores of size {np.abs(ws).max():.0f})"
    print(f"load average (1, 5, 15 min): before {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, after "
          f"{load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f}; median of {repeats} alternating runs; {agree}\n")
    print("| step | asvlab CLI | plain numpy script | WeSpeaker script | WeSpeaker / asvlab | plain / asvlab |")
    print("|---|---|---|---|---|---|")
    for step, label in (("train", "train (5 EM iterations)"), ("score", f"score {n_tr:,} trials")):
        med = {who: statistics.median(times[(step, who)]) for who in steps[step]}
        runs = "; ".join(f"{who} " + " ".join(f"{t:.2f}" for t in times[(step, who)]) for who in steps[step])
        ours_t, ws_t = med["asvlab CLI"], med.get("WeSpeaker")
        ws_col = f"{ws_t:.2f} s | {ws_t / ours_t:.1f}x" if ws_t else "- | -"
        print(f"| {label} | {ours_t:.2f} s | {med['plain numpy']:.2f} s | {ws_col} "
              f"| {med['plain numpy'] / ours_t:.2f}x |  <!-- runs: {runs} -->")


if __name__ == "__main__":
    main()
