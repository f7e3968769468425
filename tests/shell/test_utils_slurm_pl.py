"""utils/slurm.pl with a fake `sbatch` on PATH that runs the batch script in the background."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLURM_PL = ROOT / "utils" / "slurm.pl"

FAKE_SBATCH = """#!/usr/bin/env bash
# Records its arguments, then runs the batch script (the last argument) in the background.
echo "$*" >> "$(dirname "$0")/sbatch.args"
nohup bash "${!#}" >/dev/null 2>&1 &
echo $((1000 + RANDOM))
"""


def _setup(tmp_path: Path, sbatch: str = FAKE_SBATCH, squeue: str | None = None) -> dict:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    (bindir / "sbatch").write_text(sbatch)
    (bindir / "sbatch").chmod(0o755)
    if squeue is not None:
        (bindir / "squeue").write_text(squeue)
        (bindir / "squeue").chmod(0o755)
    return dict(os.environ, LC_ALL="C", PATH=f"{bindir}:{os.environ['PATH']}")


def _run(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SLURM_PL), *args], check=False, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_jobs_run_with_logs_options_and_config(tmp_path):
    env = _setup(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text(
        "# site options\n--partition=cpuq --account=proj\ngpu: --partition=gpuq\ncpu: --qos=cheap\n")
    p = _run(tmp_path, env, "--mem", "4G", "--gpu", "1", "--num-threads", "2", "JOB=1:3",
             "exp/log/x.JOB.log", "echo", "job JOB", "|", "tr", "a-z", "A-Z")
    assert p.returncode == 0, p.stderr
    for n in (1, 2, 3):
        log = (tmp_path / f"exp/log/x.{n}.log").read_text().splitlines()
        assert log[0] == f"# echo 'job {n}' | tr a-z A-Z"
        assert log[1].startswith("# Started at ")
        assert f"JOB {n}" in log
        assert re.fullmatch(r"# Accounting: time=\d+ threads=2", log[-2])
        assert re.fullmatch(r"# Ended \(code 0\) at .*, elapsed time \d+ seconds", log[-1])
        assert (tmp_path / f"exp/log/q/x.{n}.sh").exists()
    calls = (tmp_path / "fakebin/sbatch.args").read_text().splitlines()
    assert len(calls) == 3
    for opt in ("--mem=4G", "--gres=gpu:1", "--cpus-per-task=2", "--partition=cpuq", "--account=proj",
                "--partition=gpuq"):
        assert all(opt in c.split() for c in calls), opt
    assert not any("--qos=cheap" in c for c in calls)  # cpu-only line, and this is a GPU job


def test_failures_are_reported_like_run_pl(tmp_path):
    env = _setup(tmp_path)
    p = _run(tmp_path, env, "JOB=1:3", "log/f.JOB.log", "test", "JOB", "-ne", "2")
    assert p.returncode != 0
    assert "slurm.pl: 1 / 3 failed, log is in log/f.*.log" in p.stderr
    assert "log/f.2.log" in p.stderr and "log/f.1.log" not in p.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/f.2.log").read_text()
    # Rerunning after a fix starts from fresh markers.
    p = _run(tmp_path, env, "JOB=1:3", "log/f.JOB.log", "true")
    assert p.returncode == 0, p.stderr


def test_max_jobs_run_throttles_submissions(tmp_path):
    env = _setup(tmp_path)
    (tmp_path / "running").mkdir()
    (tmp_path / "job.sh").write_text(
        "touch running/$1; ls running | wc -l >> counts; sleep 0.2; rm running/$1\n")
    p = _run(tmp_path, env, "--max-jobs-run", "2", "JOB=1:5", "log/p.JOB.log", "bash", "job.sh", "JOB")
    assert p.returncode == 0, p.stderr
    counts = [int(x) for x in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 5 and max(counts) <= 2


def test_sbatch_failure_is_an_error(tmp_path):
    env = _setup(tmp_path, sbatch="#!/bin/bash\necho 'sbatch: error: invalid partition' >&2\nexit 1\n")
    p = _run(tmp_path, env, "log/x.log", "true")
    assert p.returncode != 0
    assert "invalid partition" in p.stderr


def test_job_that_leaves_the_queue_without_marker_fails(tmp_path):
    # sbatch accepts the job but it never runs (as if killed); squeue no longer lists it. Slurm's
    # reason, written to the job's --output file, goes to the error and to the job's log.
    sbatch = ("#!/bin/bash\nfor a; do case $a in --output=*) out=${a#--output=} ;; esac; done\n"
              "echo 'slurmstepd: error: *** JOB 4242 ON n1 CANCELLED AT 12:00 DUE TO TIME LIMIT ***' "
              ">$out\n"
              "echo 4242\n")
    env = _setup(tmp_path, sbatch=sbatch, squeue="#!/bin/bash\nexit 0\n")
    p = _run(tmp_path, env, "--squeue-interval", "0.1", "JOB=1:2", "log/k.JOB.log", "true")
    assert p.returncode != 0
    assert "without finishing (JOB 4242 ON n1 CANCELLED AT 12:00 DUE TO TIME LIMIT)" in p.stderr
    assert "2 / 2 failed" in p.stderr
    assert "# Killed by Slurm (no exit code): JOB 4242 ON n1" in (tmp_path / "log/k.1.log").read_text()
