"""Multi-stage training: overrides take effect, epochs and checkpoints continue, resume across stages."""
import shutil

import pytest
import torch

from common.errors import ConfigError
from pytorch.data.builder import build_train_data
from pytorch.training.stages import plan_stages
from pytorch.training.trainer import Trainer

STAGES = [
    {"name": "grow", "epochs": 1, "set": {"data.num_frames": 30}},
    {"name": "lm", "epochs": 2, "set": {"loss.margin": 0.5, "data.num_frames": 36, "optim.lr": 0.01,
                                        "scheduler.warmup_epochs": 0, "scheduler.final_lr": 0.01}},
]


class Recorder:
    """Wraps the real data builder and notes, per epoch, the chunk length the trainer was fed."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}

    def __call__(self, cfg, split, rank, world_size):
        data = build_train_data(cfg, split=split, rank=rank, world_size=world_size)
        rec, set_epoch, to_features = self, data.set_epoch, data.to_features

        def set_epoch_rec(epoch):
            rec.epoch = epoch
            set_epoch(epoch)

        def to_features_rec(batch, device):
            feats, labels = to_features(batch, device)
            rec.frames[rec.epoch] = feats.shape[1]
            return feats, labels
        data.set_epoch, data.to_features = set_epoch_rec, to_features_rec
        return data


def _cfg(make_cfg, feats_dir):
    cfg = make_cfg(feats_dir, epochs=1)
    cfg["stages"] = STAGES
    return cfg


def test_stage_overrides_and_epoch_count(tmp_path, feats_dir, make_cfg):
    rec = Recorder()
    tr = Trainer(_cfg(make_cfg, feats_dir), tmp_path / "exp", data_builder=rec)
    tr.run()
    assert rec.frames == {1: 20, 2: 30, 3: 36, 4: 36}
    assert tr.net.loss.margin == 0.5
    models = tmp_path / "exp" / "models"
    ck = {e: torch.load(models / f"epoch_{e}.pt", weights_only=True) for e in (1, 2, 3, 4)}
    assert [ck[e]["stage"] for e in (1, 2, 3, 4)] == [0, 1, 2, 2]
    assert ck[4]["step"] == 4 * 4                            # 16 utts / batch 4, steps keep counting
    # grow continues base's optimiser and schedule (lr keeps decaying); lm starts its own at 0.01.
    assert ck[2]["optimizer"]["param_groups"][0]["initial_lr"] == 0.05
    assert ck[3]["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.01)
    assert ck[2]["scheduler"]["last_epoch"] == 8 and ck[3]["scheduler"]["last_epoch"] == 4


def test_resume_across_a_stage_boundary(tmp_path, feats_dir, make_cfg):
    cfg = _cfg(make_cfg, feats_dir)
    Trainer(cfg, tmp_path / "a").run()
    (tmp_path / "b" / "models").mkdir(parents=True)
    for e in (1, 2):
        shutil.copy(tmp_path / "a" / "models" / f"epoch_{e}.pt", tmp_path / "b" / "models")
    tr = Trainer(cfg, tmp_path / "b")
    tr.run(resume=tmp_path / "b" / "models" / "epoch_2.pt")
    for e in (3, 4):
        a = torch.load(tmp_path / "a" / "models" / f"epoch_{e}.pt", weights_only=True)
        b = torch.load(tmp_path / "b" / "models" / f"epoch_{e}.pt", weights_only=True)
        for k in a["model"]:
            assert torch.equal(a["model"][k], b["model"][k]), k
        assert torch.equal(a["loss"]["weight"], b["loss"]["weight"])
    assert tr.net.loss.margin == 0.5


def test_plan_rules():
    base = {"train": {"epochs": 3}, "loss": {"name": "aam_softmax", "margin": 0.2},
            "data": {"num_frames": 200}}
    plan = plan_stages({**base, "stages": [
        {"name": "a", "epochs": 2, "set": {"data.num_frames": 300}},
        {"name": "b", "epochs": 1, "set": {"loss.margin": 0.5}},
        {"name": "c", "epochs": 1, "set": {"loss.scale": 40.0}}]})
    spans = [(s.first_epoch, s.last_epoch, s.group) for s in plan]
    assert spans == [(1, 3, 0), (4, 5, 0), (6, 6, 0), (7, 7, 1)]
    # Overrides apply to the base config, not to the previous stage.
    assert plan[2].cfg["data"]["num_frames"] == 200 and plan[2].cfg["loss"]["margin"] == 0.5
    assert plan[3].new_loss and not plan[2].new_loss
    with pytest.raises(ConfigError, match="'model.channels' cannot change"):
        plan_stages({**base, "stages": [{"epochs": 1, "set": {"model.channels": 8}}]})
    with pytest.raises(ConfigError, match="unknown key 'sets'"):
        plan_stages({**base, "stages": [{"epochs": 1, "sets": {}}]})
    with pytest.raises(ConfigError, match="'epochs' is required"):
        plan_stages({**base, "stages": [{"name": "x"}]})
