"""egs/mini stages 0-1 on a tiny corpus: data dirs, the MFCC-statistics baseline, fbank; a rerun reuses."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINI = os.path.join(ROOT, "egs", "mini")
TINY = ["--nj", "1", "--num-train-spk", "4", "--num-eval-spk", "4", "--utts-per-spk", "3",
        "--gen-opts", "--num-mix-train 2 --num-mix-test 2 --augsets false --min-dur 1 --max-dur 1.5 "
                      "--enroll-utts 2 --test-utts 3 --spoof-per-attack 1"]


def _recipe_copy(dst: str) -> None:
    """The recipe as a user has it (symlinks to the repo), in a scratch dir so egs/mini stays clean."""
    os.makedirs(dst)
    for f in ("run.sh", "cmd.sh"):
        shutil.copy(os.path.join(MINI, f), dst)
    shutil.copytree(os.path.join(MINI, "conf"), os.path.join(dst, "conf"))
    for name, target in (("utils", "utils"), ("path.sh", "path.sh"), ("local", "local/synthetic")):
        os.symlink(os.path.join(ROOT, target), os.path.join(dst, name))


def _run(cwd: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    return subprocess.run(["bash", "run.sh", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _lines(path: str) -> list[str]:
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.slow
def test_mini_stage0_1(tmp_path):
    d = str(tmp_path / "mini")
    _recipe_copy(d)
    r = _run(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for s, n in (("train", 12), ("enroll", 8), ("test", 12)):
        assert len(_lines(os.path.join(d, "data", s, "feats.scp"))) == n
        assert len(_lines(os.path.join(d, "data", s, "utt2num_frames"))) == n
    assert len(_lines(os.path.join(d, "data", "test", "trials"))) == 4 * 12
    for s in ("spoof_train", "spoof_dev", "spoof_eval", "mix_train", "mix_test", "sasv_dev", "sasv_eval"):
        assert os.path.isdir(os.path.join(d, "data", s))
    res = _lines(os.path.join(d, "exp", "baseline_mfcc_stats", "results.tsv"))
    assert len(res) == 2 and res[0].split("\t")[:5] == ["system", "backend", "norm", "trials", "eer"]
    assert 0.0 <= float(res[1].split("\t")[4]) <= 100.0
    assert "stage 0: baseline" in r.stdout

    # A rerun finds everything done: nothing is regenerated or recomputed.
    stamps = {p: os.path.getmtime(os.path.join(d, p))
              for p in ("corpus/.done", "data/.prepared", "data/train/feats.scp",
                        "exp/baseline_mfcc_stats/results.tsv")}
    r = _run(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(os.path.join(d, p)) for p in stamps}
    assert "make_fbank" not in r.stdout


def test_mini_help_lists_stages(tmp_path):
    d = str(tmp_path / "mini")
    _recipe_copy(d)
    r = _run(d, "--help")
    assert r.returncode == 0
    for n in range(10):
        assert f"  {n}  " in r.stdout + r.stderr
