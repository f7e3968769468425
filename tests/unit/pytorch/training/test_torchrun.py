"""`torchrun --nproc_per_node 2 -m pytorch.bin.train` (gloo, CPU) on a tiny copy of the mini ECAPA
config (egs/mini/conf/ecapa_mini.yaml: SpecAugment, margin warm-up, a large-margin stage): the same
global batch and learning rate as one process, disjoint shards per rank, rank 0's checkpoint resumes
in one process and in two, and a killed rank ends the job in bounded time.
(test_training_ddp.py checks that the weights themselves match one process, on a model without BN.)"""
from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml

from pytorch.training.trainer import Trainer
from tests.unit.pytorch.training.conftest import write_feats_dir

ROOT = Path(__file__).resolve().parents[4]

# bin/train.main under the spy below; torchrun starts it once per rank.
DRIVER = """
import os, sys
from pytorch.bin import train
from tests.unit.pytorch.training.test_torchrun import install_spy
install_spy(sys.argv[1], os.environ["RANK"])
sys.exit(train.main(sys.argv[2:]))
"""
BATCH = 4          # per process; one process uses 2 x BATCH


def install_spy(record: str, rank: str) -> Callable[[], None]:
    """Make every training batch sampler record, per epoch, the utterance indices of the batches it
    hands out (record/batches.<rank>), and write this process's pid (record/pid.<rank>).
    Returns the function that undoes it."""
    from pytorch.data.samplers import _EpochBatchSampler as Sampler
    set_epoch = Sampler.set_epoch
    Path(record, f"pid.{rank}").write_text(str(os.getpid()))

    def record_epoch(self, epoch: int) -> None:
        set_epoch(self, epoch)
        with open(f"{record}/batches.{self.rank}", "a") as f:
            f.write(json.dumps([epoch, [[u for u, _ in b] for b in self]]) + "\n")
    Sampler.set_epoch = record_epoch
    return lambda: setattr(Sampler, "set_epoch", set_epoch)


def _tiny_ecapa(train_dir: Path) -> dict:
    """The mini ECAPA config at toy size: 1 epoch + its 1-epoch large-margin stage."""
    cfg = yaml.safe_load((ROOT / "egs/mini/conf/ecapa_mini.yaml").read_text())
    cfg["data"].update(train=str(train_dir), num_frames=20, min_frames=10)
    cfg["model"].update(feat_dim=5, channels=16, embed_dim=8, mfa_channels=48, se_bottleneck=8,
                        pooling={"name": "asp", "hidden": 8, "global_context": True})
    cfg["augment"]["specaug"].update(max_time_width=4, max_freq_width=2)
    cfg["train"].update(epochs=1, batch_size=BATCH, average_last=2, log_interval=2,
                        margin_scheduler={"start_epoch": 0, "end_epoch": 1, "initial": 0.0, "type": "linear"})
    cfg["stages"][0]["set"]["data.num_frames"] = 30
    cfg.pop("extract", None)
    cfg.pop("backend", None)
    return cfg


def _train(tmp: Path, name: str, cfg: dict, nproc: int, wait: bool = True):
    """bin/train on cfg into tmp/<name>, recording batches in tmp/<name>.rec: under torchrun (a
    subprocess) when nproc > 1, else in this process (saves a torch start-up)."""
    rec = tmp / f"{name}.rec"
    rec.mkdir()
    conf = tmp / f"{name}.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    args = ["--config", str(conf), "--exp", str(tmp / name)]
    if nproc == 1:
        from pytorch.bin import train
        undo = install_spy(str(rec), "0")
        try:
            assert train.main(args) == 0
        finally:
            undo()
        return None, rec
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           str(tmp / "driver.py"), str(rec), *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    if not wait:
        return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True), rec
    p = subprocess.run(cmd, check=False, cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-4000:]
    return p, rec


def _batches(rec: Path, rank: int) -> dict[int, list[list[int]]]:
    lines = (rec / f"batches.{rank}").read_text().splitlines()
    return {epoch: batches for epoch, batches in map(json.loads, lines)}


def _ckpt(exp: Path, epoch: int) -> dict:
    return torch.load(exp / "models" / f"epoch_{epoch}.pt", map_location="cpu", weights_only=False)


def _lr(ckpt: dict) -> float:
    return ckpt["optimizer"]["param_groups"][0]["lr"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two epochs under torchrun (2 x BATCH) and in one process (1 x 2 BATCH) on 32 utterances."""
    tmp = tmp_path_factory.mktemp("torchrun")
    torch.set_num_threads(1)
    (tmp / "driver.py").write_text(DRIVER)
    cfg = _tiny_ecapa(write_feats_dir(tmp / "data", num_spk=4, utts_per_spk=8))
    one = copy.deepcopy(cfg)
    one["train"]["batch_size"] = 2 * BATCH
    _train(tmp, "ddp", cfg, 2)
    _train(tmp, "one", one, 1)
    return tmp, cfg, one


@pytest.mark.slow
def test_two_ranks_are_one_process_with_the_global_batch(runs):
    tmp, _, _ = runs
    r0, r1, one = _batches(tmp / "ddp.rec", 0), _batches(tmp / "ddp.rec", 1), _batches(tmp / "one.rec", 0)
    assert sorted(r0) == sorted(r1) == sorted(one) == [1, 2]
    for epoch in (1, 2):
        a, b, s = r0[epoch], r1[epoch], one[epoch]
        assert len(a) == len(b) == len(s) == 32 // (2 * BATCH)
        seen_a, seen_b = {u for x in a for u in x}, {u for x in b for u in x}
        assert not seen_a & seen_b and len(seen_a) == len(seen_b) == 16       # disjoint halves
        for k in range(len(s)):                       # step k of DDP = step k of one process
            assert sorted(a[k] + b[k]) == sorted(s[k])
    for epoch in (1, 2):
        d, o = _ckpt(tmp / "ddp", epoch), _ckpt(tmp / "one", epoch)
        assert d["step"] == o["step"] == epoch * 32 // (2 * BATCH)
        assert _lr(d) == pytest.approx(_lr(o))
        assert d["scheduler"] == o["scheduler"]
    log = (tmp / "ddp/log/train.log").read_text()
    assert "world size 2" in log and f"batches/epoch of {BATCH} x 2" in log
    assert (tmp / "ddp/models/avg.pt").exists()


def _resume_from_epoch_1(tmp: Path, name: str, cfg: dict, nproc: int) -> dict:
    (tmp / name / "models").mkdir(parents=True)
    shutil.copy(tmp / "ddp/models/epoch_1.pt", tmp / name / "models")
    _train(tmp, name, cfg, nproc)
    assert "resuming from" in (tmp / name / "log/train.log").read_text()
    return _ckpt(tmp / name, 2)


@pytest.mark.slow
def test_rank0_checkpoint_resumes_in_two_processes_and_in_one(runs):
    tmp, cfg, one = runs
    want = _ckpt(tmp / "ddp", 2)
    # Two processes: exactly the uninterrupted run (data order and RNG depend on seed, epoch, rank).
    got = _resume_from_epoch_1(tmp, "resume2", cfg, 2)
    assert got["step"] == want["step"]
    for part in ("model", "loss"):
        for k, v in want[part].items():
            torch.testing.assert_close(got[part][k], v, rtol=0, atol=1e-6, msg=f"{part}.{k}")
    # One process with the same global batch: the same steps, learning rate and data. BatchNorm sees
    # 8 samples instead of 2 x 4, so the weights differ (test_training_ddp.py compares them without BN).
    got = _resume_from_epoch_1(tmp, "resume1", one, 1)
    assert got["step"] == want["step"]
    assert _lr(got) == pytest.approx(_lr(want))
    assert _batches(tmp / "resume1.rec", 0)[2] == _batches(tmp / "one.rec", 0)[2]
    assert all(torch.isfinite(v).all() for v in got["model"].values() if v.is_floating_point())


@pytest.mark.slow
def test_killed_rank_ends_the_job_in_bounded_time(runs):
    tmp, cfg, _ = runs
    long = copy.deepcopy(cfg)
    long["train"]["epochs"] = 1000
    proc, rec = _train(tmp, "killed", long, 2, wait=False)
    try:
        deadline = time.monotonic() + 120
        while not (tmp / "killed/models/epoch_1.pt").exists():      # both ranks are training
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"torchrun ended or stalled before epoch 1: {proc.communicate()[1][-3000:]}")
            time.sleep(0.2)
        os.kill(int((rec / "pid.1").read_text()), signal.SIGKILL)
        killed = time.monotonic()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        # torchrun's agent sees the dead worker and stops the other one (about 1 s here).
        assert time.monotonic() - killed < 30, err[-3000:]
        assert "ChildFailedError" in err and "exitcode  : -9" in err and "rank      : 1" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_resume_with_another_global_batch_keeps_the_schedule_by_epochs(tmp_path, feats_dir, make_cfg):
    """A checkpoint of 2 processes x 4 resumed in 1 process x 4 (here: 1 x 8 resumed as 1 x 4) has
    twice the steps per epoch; the per-step schedule must continue from the epoch, not the step."""
    cfg = make_cfg(feats_dir, epochs=3)
    big = copy.deepcopy(cfg)
    big["train"]["batch_size"] = 8
    Trainer(big, tmp_path / "big").run()
    Trainer(cfg, tmp_path / "resumed").run(resume=tmp_path / "big/models/epoch_1.pt")
    Trainer(cfg, tmp_path / "small").run()
    for epoch in (2, 3):
        got, want = _ckpt(tmp_path / "resumed", epoch), _ckpt(tmp_path / "small", epoch)
        assert got["scheduler"]["last_epoch"] == want["scheduler"]["last_epoch"] == epoch * 16 // 4
        assert _lr(got) == pytest.approx(_lr(want), rel=1e-9)
