"""utils/run.pl: JOB substitution, log header/accounting, parallelism limits, failure reports."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_PL = ROOT / "utils" / "run.pl"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUN_PL), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LC_ALL="C"))


def test_job_substitution_in_log_names_and_args(tmp_path):
    p = _run(tmp_path, "JOB=1:3", "exp/log/x.JOB.log", "echo", "job JOB", ">", "out.JOB.txt")
    assert p.returncode == 0, p.stderr
    for n in (1, 2, 3):
        assert (tmp_path / f"out.{n}.txt").read_text() == f"job {n}\n"
        log = (tmp_path / f"exp/log/x.{n}.log").read_text().splitlines()
        assert log[0] == f"# echo 'job {n}' > out.{n}.txt"
        assert log[1].startswith("# Started at ")
        assert re.fullmatch(r"# Accounting: time=\d+ threads=1", log[-2])
        assert re.fullmatch(r"# Ended \(code 0\) at .*, elapsed time \d+ seconds", log[-1])


def test_pipes_quoting_and_other_job_names(tmp_path):
    p = _run(tmp_path, "--mem", "4G", "--gpu", "1", "--num-threads", "2", "TASK=4:5", "log/t.TASK.log",
             "echo", "it's TASK", "|", "tr", "a-z", "A-Z")
    assert p.returncode == 0, p.stderr
    assert "IT'S 5\n" in (tmp_path / "log/t.5.log").read_text()
    assert not (tmp_path / "log/t.3.log").exists()
    # A lone argument is a whole command line; no range runs once.
    p = _run(tmp_path, "log/one.log", "echo a b | wc -w")
    assert p.returncode == 0, p.stderr
    assert "\n2\n" in (tmp_path / "log/one.log").read_text()


def test_failures_are_reported_with_their_logs(tmp_path):
    p = _run(tmp_path, "JOB=1:4", "log/f.JOB.log", "test", "JOB", "-ne", "2", "-a", "JOB", "-ne", "4")
    assert p.returncode != 0
    assert "run.pl: 2 / 4 failed, log is in log/f.*.log" in p.stderr
    assert "log/f.2.log log/f.4.log" in p.stderr and "log/f.1.log" not in p.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/f.2.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log/f.3.log").read_text()
    p = _run(tmp_path, "log/single.log", "exit", "3")
    assert p.returncode != 0 and "log/single.log" in p.stderr
    assert "# Ended (code 3)" in (tmp_path / "log/single.log").read_text()


def test_usage_errors(tmp_path):
    assert _run(tmp_path, "JOB=1:3", "log/same.log", "true").returncode != 0  # 3 jobs, 1 log
    assert _run(tmp_path, "JOB=3:1", "log/x.JOB.log", "true").returncode != 0
    assert _run(tmp_path, "--max-jobs-run", "0", "log/x.log", "true").returncode != 0
    assert _run(tmp_path, "log/x.log").returncode != 0


# Each job registers itself in running/, records how many jobs are registered, waits for a
# partner (or a 10 s cap) and leaves. The record proves the limit; the wait proves overlap.
JOB_SCRIPT = """set -e
n=$1; want=$2
touch running/$n
ls running | wc -l >> counts
for i in $(seq 200); do [ "$(ls running | wc -l)" -ge "$want" ] && break; sleep 0.05; done
ls running | wc -l >> counts
sleep 0.1
rm running/$n
"""


def test_max_jobs_run_limits_concurrency(tmp_path):
    (tmp_path / "running").mkdir()
    (tmp_path / "job.sh").write_text(JOB_SCRIPT)
    p = _run(tmp_path, "--max-jobs-run", "2", "JOB=1:6", "log/p.JOB.log", "bash", "job.sh", "JOB", "2")
    assert p.returncode == 0, p.stderr
    counts = [int(x) for x in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 12
    assert max(counts) == 2  # two at once, never three


def test_default_runs_all_jobs_at_once(tmp_path):
    (tmp_path / "running").mkdir()
    (tmp_path / "job.sh").write_text(JOB_SCRIPT)
    p = _run(tmp_path, "JOB=1:4", "log/p.JOB.log", "bash", "job.sh", "JOB", "4")
    assert p.returncode == 0, p.stderr
    assert max(int(x) for x in (tmp_path / "counts").read_text().split()) == 4
