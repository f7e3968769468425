"""utils/stages/train.sh --gpus 2 on a CPU machine: the recipe's torchrun (DDP) launch line, two gloo
ranks, on a toy copy of the mini ECAPA config; the rerun finds the finished system and returns."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.pytorch.training.conftest import write_feats_dir
from tests.unit.pytorch.training.test_torchrun import _tiny_ecapa

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_stage_two_ranks(tmp_path):
    cfg = _tiny_ecapa(write_feats_dir(tmp_path / "data", num_spk=4, utts_per_spk=8))
    conf = tmp_path / "conf" / "tiny.yaml"
    conf.parent.mkdir()
    conf.write_text(yaml.safe_dump(cfg))
    # A recipe dir as egs/<corpus> has it: path.sh (PATH to utils/ for run.pl, PYTHONPATH) and utils/.
    (tmp_path / "path.sh").symlink_to(ROOT / "path.sh")
    (tmp_path / "utils").symlink_to(ROOT / "utils")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]

    def stage() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", ". ./path.sh; utils/stages/train.sh --gpus 2 --exp exp conf/tiny.yaml"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    p = stage()
    job_log = tmp_path / "exp/tiny/log/train_job.log"
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    log = job_log.read_text()
    assert "torchrun --standalone --nproc_per_node 2" in log   # run.pl writes the command into the job log
    assert "(world size 2, device cpu)" in log
    models = tmp_path / "exp/tiny/models"
    assert sorted(p.name for p in models.iterdir()) == ["avg.pt", "epoch_1.pt", "epoch_2.pt"]
    first = sorted(p.name for p in models.iterdir())
    again = stage()
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(p.name for p in models.iterdir()) == first
