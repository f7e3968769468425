"""utils/slurm.pl against a real one-node Slurm (slurmctld + slurmd on localhost, started by
tests/cluster/start_slurm.sh): recipe steps through `--cmd slurm.pl`, a failing job, and a job
killed by Slurm's time limit. Skipped where Slurm is not installed or no controller answers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from common.embeddings import load_embeddings
from pytorch.features import Fbank
from tests.shell.test_extract_embeddings_sh import _setup as make_exp
from tests.shell.test_make_feats import FBANK, _api_feats, _conf, _data_dir

ROOT = Path(__file__).resolve().parents[2]
UTILS = ROOT / "utils"
START = "tests/cluster/start_slurm.sh"
SLURM_CONF = os.environ.get("SLURM_CONF", "/tmp/asvlab-slurm/slurm.conf")
# squeue is asked every second, so a job that Slurm kills is noticed in seconds, not minutes.
SLURM_CMD = "slurm.pl --squeue-interval 1"


def _env() -> dict:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT), SLURM_CONF=SLURM_CONF)
    env["PATH"] = f"{UTILS}:{Path(sys.executable).parent}:{env['PATH']}"
    return env


def _slurm_missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        return f"Slurm is not installed; run `{START} --install true` (root) to install and start it"
    if not Path(SLURM_CONF).is_file():
        return f"{SLURM_CONF} not found; run `{START}` (root) first, or set SLURM_CONF"
    p = subprocess.run(["scontrol", "ping"], check=False, env=_env(), capture_output=True, text=True,
                       timeout=30)
    if "is UP" not in p.stdout:
        said = (p.stdout + p.stderr).strip().splitlines()[:1]
        return f"no Slurm controller answers for {SLURM_CONF} ({' '.join(said)}); run `{START}`"
    return None


_MISSING = _slurm_missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]


def _run(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([*map(str, args)], check=False, cwd=cwd, env=_env(), capture_output=True, text=True,
                       timeout=300)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture(scope="module")
def time_limit_run(tmp_path_factory):
    """A job that outlives its 1-minute limit (Slurm counts whole minutes, and kills within ~30 s of
    the limit). Submitted when the module starts so the wait overlaps the other tests."""
    cwd = tmp_path_factory.mktemp("timelimit")
    start = time.monotonic()
    proc = subprocess.Popen([*SLURM_CMD.split(), "--time", "1", "JOB=1:2", "log/t.JOB.log",
                             "bash", "-c", "test JOB -eq 1 || sleep 600"],
                            cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield cwd, proc, start
    if proc.poll() is None:
        proc.terminate()            # slurm.pl scancels its jobs on SIGTERM
        proc.wait(timeout=60)


@pytest.fixture(autouse=True)
def _start_time_limit_job_first(time_limit_run):
    pass


def test_make_fbank_through_slurm(tmp_path):
    d = _data_dir(tmp_path, "train")
    conf = _conf(tmp_path, "fbank", FBANK)
    _run("bash", UTILS / "make_fbank.sh", "--cmd", SLURM_CMD, "--nj", 2, "--fbank-config", conf,
         "--compress", "false", d, cwd=tmp_path)
    scp = kaldiio.load_scp(str(d / "feats.scp"))
    torch.set_num_threads(1)
    want = _api_feats(d, Fbank(**{k: v for k, v in FBANK.items() if k != "name"}))
    assert sorted(scp) == sorted(want)
    for utt, feats in want.items():
        np.testing.assert_allclose(scp[utt], feats, atol=1e-5)
    # The jobs went through sbatch: slurmd wrote their batch output files.
    assert sorted(p.name for p in (d / "log" / "q").glob("*.out")) == \
        ["make_fbank_train.1.out", "make_fbank_train.2.out"]


def test_extract_embeddings_through_slurm(tmp_path):
    exp, data, spk2utt = make_exp(tmp_path)
    _run("bash", UTILS / "extract_embeddings.sh", "--cmd", SLURM_CMD, "--nj", 2, exp, data, tmp_path / "emb",
         cwd=tmp_path)
    _run("bash", UTILS / "extract_embeddings.sh", "--cmd", "run.pl", "--nj", 1, exp, data, tmp_path / "ref",
         cwd=tmp_path)
    for table, count in (("xvector.scp", len(data.joinpath("utt2spk").read_text().splitlines())),
                         ("spk_xvector.scp", len(spk2utt))):
        keys, got = load_embeddings(str(tmp_path / "emb" / table))
        ref_keys, ref = load_embeddings(str(tmp_path / "ref" / table))
        assert keys == ref_keys and len(keys) == count
        np.testing.assert_allclose(got, ref, atol=1e-5)


def test_failing_job_names_its_log(tmp_path):
    # TASK, not JOB, as the range name: JOB would also be replaced inside $SLURM_JOB_ID.
    p = _run(*SLURM_CMD.split(), "TASK=1:3", "log/f.TASK.log", "bash", "-c",
             "echo slurm job $SLURM_JOB_ID; test TASK -ne 2", cwd=tmp_path, check=False)
    assert p.returncode != 0
    assert "slurm.pl: 1 / 3 failed, log is in log/f.*.log" in p.stderr
    assert "log/f.2.log" in p.stderr and "log/f.1.log" not in p.stderr
    logs = [(tmp_path / f"log/f.{n}.log").read_text() for n in (1, 2, 3)]
    assert "# Ended (code 1)" in logs[1] and "# Ended (code 0)" in logs[0]
    ids = {ln.split()[-1] for log in logs for ln in log.splitlines() if ln.startswith("slurm job ")}
    assert len(ids) == 3 and all(i.isdigit() for i in ids)     # three real Slurm jobs


def test_time_limit_kill_is_a_failure_not_a_hang(time_limit_run):
    cwd, proc, start = time_limit_run
    out, err = proc.communicate(timeout=240)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0, out + err
    assert elapsed < 200                     # the job slept 600 s; it was not waited for
    assert "job 2 (Slurm id" in err and "left the queue without finishing" in err
    assert "TIME LIMIT" in err               # the reason Slurm gave, from the job's output file
    assert "slurm.pl: 1 / 2 failed, log is in log/t.*.log" in err and "log/t.2.log" in err
    assert "# Ended (code 0)" in (cwd / "log/t.1.log").read_text()
    log = (cwd / "log/t.2.log").read_text()
    assert "# Ended" not in log and "# Killed by Slurm (no exit code): " in log and "TIME LIMIT" in log
