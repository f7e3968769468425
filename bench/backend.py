"""Back-end speed at CN-Celeb.E scale: cosine + AS-Norm from ark/scp to a score file, metrics,
retrieval over a 500k pool, and PLDA (when score.plda exists).

Workload (issue #3): 196 enroll speakers x 17,777 test utterances = 3,484,292 trials, 256-dim
embeddings, an AS-Norm cohort of 2,793 speaker means, top-300, and a `mean` back-end (trained on the
cohort) in front of cosine scoring and AS-Norm. Each step is timed three ways:
- CLI end to end: `python -m score.bin.X` as a subprocess (Python start-up, imports, reading, writing);
- the plain-numpy baseline bench/plain_backend.py, also a subprocess, on the same files, alternating with
  the CLI run by run so both see the same machine load; the ratio is baseline / CLI;
- in process: the CLI's main() called here (no start-up, modules already imported).
With --wespeaker <checkout>, WeSpeaker's own scripts (wespeaker/bin/score.py, score_norm.py,
compute_metrics.py, run from that checkout by bench/wespeaker_ref.py; its dependencies fire, kaldiio,
scikit-learn, tqdm on the PYTHONPATH) run as a third subprocess on the same files, in its own formats (one
scp with both sides, 4-column score files); its per-trial cosine loop runs on the first --ws-cosine-trials
trials and its time is scaled to the whole list (labelled so).
Medians of --repeats runs; the load average is printed. The last lines are a ready-to-paste table.
    . ./path.sh && python bench/backend.py [--workdir /tmp/asvlab_bench] [--parts scoring,retrieval,plda] \
        [--wespeaker /path/to/wespeaker]
Thread settings come from the environment as they are (OMP_NUM_THREADS etc.).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common.embeddings import write_embeddings
from score.bin import compute_metrics, norm, score
from score.chain import Chain
from score.retrieval import retrieve
from score.trials import read_scores

N_ENROLL, N_TEST, N_COHORT, DIM, TOP_N = 196, 17_777, 2_793, 256, 300
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAIN = os.path.join(ROOT, "bench", "plain_backend.py")
WS_REF = os.path.join(ROOT, "bench", "wespeaker_ref.py")


def make_workload(d: str, rng: np.random.Generator) -> dict[str, str]:
    spk = rng.normal(size=(N_ENROLL, DIM)).astype(np.float32)
    test_spk = rng.integers(0, N_ENROLL, N_TEST)
    test = spk[test_spk] + 1.5 * rng.normal(size=(N_TEST, DIM)).astype(np.float32)
    enroll = spk + 0.7 * rng.normal(size=(N_ENROLL, DIM)).astype(np.float32)
    cohort = rng.normal(size=(N_COHORT, DIM)).astype(np.float32) + 0.3
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
    Chain.fit("mean", cohort).save(f"{d}/backend")  # the training mean (here: of the cohort)
    paths["backend"] = f"{d}/backend"
    return paths


def timed(label: str, target: str, fn) -> float:
    t0 = time.perf_counter()
    rc = fn()
    dt = time.perf_counter() - t0
    assert rc == 0, f"{label} failed"
    print(f"{label:<58s} {dt:7.2f} s   ({target})")
    return dt


def run(argv: list[str], out: str | None = None) -> float:
    """Wall time of one subprocess (its output file removed first, so every run writes it afresh)."""
    if out and os.path.exists(out):
        os.remove(out)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(x for x in (ROOT, os.environ.get("PYTHONPATH")) if x)}
    t0 = time.perf_counter()
    res = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{res.stderr}")
    return dt


PARTS = ("scoring", "retrieval", "plda")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/asvlab_bench_backend")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    ap.add_argument("--repeats", type=int, default=3, help="alternating CLI / baseline runs per step")
    ap.add_argument("--wespeaker", default=None, help="a WeSpeaker checkout (repository root): time its scripts too")
    ap.add_argument("--ws-cosine-trials", type=int, default=100_000,
                    help="trials given to WeSpeaker's per-trial cosine loop (its time is scaled to all)")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "scoring" in parts:
        bench_scoring(args.workdir, args.repeats, args.wespeaker, args.ws_cosine_trials)
    if "retrieval" in parts:
        bench_retrieval()
    if "plda" in parts:
        bench_plda()


def _wespeaker_steps(d: str, p: dict[str, str], checkout: str, n_cos: int) -> dict[str, tuple]:
    """WeSpeaker's argv, output and input preparation for each step, in its own file formats."""
    ref = [sys.executable, WS_REF, os.path.abspath(checkout)]
    os.makedirs(f"{d}/ws_mean", exist_ok=True)
    with open(f"{d}/ws_all.scp", "w") as f:  # its scripts take one scp holding enroll and test
        f.write(Path(p["enroll"]).read_text() + Path(p["test"]).read_text())
    shutil.copy(p["cohort"], f"{d}/ws_mean/xvector.scp")  # cal_mean_dir/xvector.scp: the mean's source
    with open(p["trials"]) as f, open(f"{d}/ws_trials", "w") as out:
        out.writelines(line for _, line in zip(range(n_cos), f))

    def with_labels(scores: str, out: str) -> None:  # its score files carry the label as a 4th column
        with open(scores) as s, open(p["trials"]) as t, open(out, "w") as o:
            o.writelines(f"{a.rstrip()} {b.split()[2]}\n" for a, b in zip(s, t))
    return {
        "cosine": (ref + ["wespeaker/bin/score.py", "--exp_dir", f"{d}/ws", "--eval_scp_path", f"{d}/ws_all.scp",
                          "--cal_mean", "True", "--cal_mean_dir", f"{d}/ws_mean", f"{d}/ws_trials"],
                   f"{d}/ws/scores/ws_trials.score", None),
        "asnorm": (ref + ["wespeaker/bin/score_norm.py", "--score_norm_method", "asnorm", "--top_n", str(TOP_N),
                          "--trial_score_file", f"{d}/ws_cos4", "--score_norm_file", f"{d}/ws_asnorm",
                          "--cohort_emb_scp", p["cohort"], "--eval_emb_scp", f"{d}/ws_all.scp",
                          "--mean_vec_path", f"{d}/ws_mean/mean_vec.npy"],
                   f"{d}/ws_asnorm", lambda: with_labels(f"{d}/cos", f"{d}/ws_cos4")),
        "metrics": (ref + ["wespeaker/bin/compute_metrics.py", "--p_target", "0.01", "--c_miss", "1", "--c_fa",
                           "1", f"{d}/ws_asnorm4"], None, lambda: with_labels(f"{d}/asnorm", f"{d}/ws_asnorm4")),
    }


def bench_scoring(d: str, repeats: int, wespeaker: str | None = None, n_ws_cos: int = 100_000) -> None:
    os.makedirs(d, exist_ok=True)
    p = make_workload(d, np.random.default_rng(0))
    ws = _wespeaker_steps(d, p, wespeaker, n_ws_cos) if wespeaker else {}
    print(f"{N_ENROLL} enroll x {N_TEST} test = {N_ENROLL * N_TEST:,} trials, dim {DIM}, "
          f"cohort {N_COHORT}, top-{TOP_N}; {os.cpu_count()} cores; WeSpeaker: {wespeaker or 'not given'}")
    py = sys.executable
    steps = {  # name: (CLI argv, baseline argv, CLI output, baseline output, target)
        "cosine scoring, scp -> score file": (
            [py, "-m", "score.bin.score", "--method", "cosine", "--backend-dir", p["backend"],
             "--enroll", p["enroll"], "--test", p["test"], "--trials", p["trials"], "--out", f"{d}/cos"],
            [py, PLAIN, "cosine", p["enroll"], p["test"], p["trials"], p["cohort"], f"{d}/cos.plain"],
            f"{d}/cos", f"{d}/cos.plain", "<= 1.5 s"),
        f"AS-Norm top-{TOP_N}, scp + score file -> score file": (
            [py, "-m", "score.bin.norm", "--method", "asnorm", "--top-n", str(TOP_N), "--cohort", p["cohort"],
             "--backend-dir", p["backend"], "--enroll", p["enroll"], "--test", p["test"],
             "--scores", f"{d}/cos", "--out", f"{d}/asnorm"],
            [py, PLAIN, "asnorm", p["enroll"], p["test"], f"{d}/cos", p["cohort"], p["cohort"], str(TOP_N),
             f"{d}/asnorm.plain"],
            f"{d}/asnorm", f"{d}/asnorm.plain", "<= 3 s"),
        "EER + minDCF + actDCF + Cllr from the score file": (
            [py, "-m", "score.bin.compute_metrics", "--trials", p["trials"], "--scores", f"{d}/asnorm"],
            [py, PLAIN, "metrics", p["trials"], f"{d}/asnorm"], None, None, "<= 2 s"),
    }
    load0 = os.getloadavg()
    rows = []
    for (label, (cli, plain, out, plain_out, target)), key in zip(steps.items(), ("cosine", "asnorm", "metrics")):
        t_cli, t_plain, t_ws = [], [], []
        ws_argv, ws_out, ws_prep = ws.get(key, (None, None, None))
        for _ in range(repeats):  # alternate, so all see the same load
            t_cli.append(run(cli, out))
            t_plain.append(run(plain, plain_out))
            if ws_argv:
                if ws_prep:
                    ws_prep()
                t_ws.append(run(ws_argv, ws_out))
        if out:
            diff = np.abs(read_scores(out)[2] - read_scores(plain_out)[2]).max()
            agree = f"max |CLI - baseline| = {diff:.1e}"
        else:
            agree = "same trials and scores"
        m_ws = None
        if t_ws:
            m_ws = statistics.median(t_ws)
            if key == "cosine":  # its per-trial loop ran on the first n_ws_cos trials: scale to all
                m_ws *= N_ENROLL * N_TEST / n_ws_cos
            if ws_out:
                with open(ws_out) as f:  # enroll test score label [AS-Norm: + its cohort statistics]
                    w = np.array([line.split()[2] for line in f], dtype=np.float64)
                agree += f"; max |CLI - WeSpeaker| = {np.abs(read_scores(out)[2][:len(w)] - w).max():.1e}"
            agree += " (WeSpeaker runs: " + " ".join(f"{x:.2f}" for x in t_ws) + ")"
        m_cli, m_plain = statistics.median(t_cli), statistics.median(t_plain)
        t_in = statistics.median(timed(f"{label} (in process)", target, lambda cli=cli: _in_process(cli))
                                 for _ in range(repeats))
        runs_cli = " ".join(f"{x:.2f}" for x in t_cli)
        runs_plain = " ".join(f"{x:.2f}" for x in t_plain)
        print(f"{label:<58s} CLI {m_cli:6.2f} s, baseline {m_plain:6.2f} s, ratio {m_plain / m_cli:4.1f}x "
              f"(runs: {runs_cli} / {runs_plain}; {agree})")
        rows.append((label, m_cli, m_plain, t_in, target, m_ws))
    load1 = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, "
          f"after {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f}; median of {repeats} alternating runs\n")
    print("| step | asvlab CLI, end to end | plain numpy script | ratio | WeSpeaker script | ratio "
          "| asvlab in process | target (CLI) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, m_cli, m_plain, t_in, target, m_ws in rows:
        ws_cols = f"{m_ws:.2f} s | {m_ws / m_cli:.1f}x" if m_ws else "- | -"
        print(f"| {label} | {m_cli:.2f} s | {m_plain:.2f} s | {m_plain / m_cli:.1f}x | {ws_cols} "
              f"| {t_in:.2f} s | {target} |")
    if wespeaker:
        print(f"(WeSpeaker cosine: its loop timed on the first {n_ws_cos:,} trials, scaled to all "
              f"{N_ENROLL * N_TEST:,})")
    print()


def _in_process(argv: list[str]) -> int:
    """Run a CLI's main() in this process (argv as given to the subprocess, minus `python -m module`)."""
    module = {"score.bin.score": score, "score.bin.norm": norm, "score.bin.compute_metrics": compute_metrics}
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    if out and os.path.exists(out):
        os.remove(out)
    return module[argv[2]].main(argv[3:])


def bench_retrieval(n_pool: int = 500_000, n_targets: int = 25, topk: int = 100) -> None:
    """Pool generated block by block (as a streamed scp would arrive); peak traced numpy memory."""
    rng = np.random.default_rng(1)
    targets = rng.normal(size=(n_targets, DIM)).astype(np.float32)
    for block in (16_384, 65_536):
        def blocks(block: int = block) -> Iterator[tuple[list[str], np.ndarray]]:
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
