"""Shared fixtures of the recipe tests: one tiny egs/mini run per test session (test_mini.py checks it,
test_sasv.py builds egs/sasv's mini mode on it), so the mini recipe runs once per CI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

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


def _run(cwd: str, *args: str, shim: str | None = None, fail: str = "") -> subprocess.CompletedProcess:
    """Runs run.sh; with a `shim` dir (see _python_shim) first on PATH, every python command line that
    matches the regex `fail` dies as a killed job would (and is logged in <shim>/killed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    if shim:  # path.sh activates the venv only when none is active; it must not go before the shim
        env.update(PATH=shim + os.pathsep + env["PATH"], VIRTUAL_ENV=sys.prefix, FAIL_MATCH=fail)
    return subprocess.run(["bash", "run.sh", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _tiny_config(src: str, dst: str) -> None:
    """A mini config shrunk to one base epoch + the large-margin stage on 1-1.5 s utterances of 4 speakers."""
    with open(src) as f:
        cfg = yaml.safe_load(f)
    cfg["data"].update(num_frames=80, min_frames=50)
    cfg["train"].update(epochs=1, batch_size=4, average_last=2,
                        margin_scheduler={"start_epoch": 0, "end_epoch": 1, "initial": 0.0, "type": "linear"})
    cfg["stages"][0]["set"]["data.num_frames"] = 100
    cfg["backend"] = {"chain": ["mean", "lda:3", "lnorm", "plda"], "top_n": 3}
    with open(dst, "w") as f:
        yaml.safe_dump(cfg, f)


SYSTEMS = ("resnet_mini", "ecapa_mini")
CONFIGS = " ".join(f"conf/tiny_{s}.yaml" for s in SYSTEMS)


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory) -> tuple[str, subprocess.CompletedProcess]:
    """One full run of the recipe on the tiny corpus, shared by test_mini.py (end-to-end and failure tests)
    and test_sasv.py."""
    d = str(tmp_path_factory.mktemp("e2e") / "mini")
    _recipe_copy(d)
    for s in SYSTEMS:
        _tiny_config(os.path.join(MINI, "conf", f"{s}.yaml"), os.path.join(d, "conf", f"tiny_{s}.yaml"))
    return d, _run(d, "--configs", CONFIGS, "--fusion", "exp/fusion_tiny", *TINY)
