"""train.init: a fresh run starts from another run's model weights (pytorch/training/warm_start.py)."""
import pytest
import torch
import yaml

from common.errors import ConfigError
from pytorch.bin import train as train_cli
from pytorch.models import build_model
from pytorch.training.checkpoint import CheckpointError, save_checkpoint
from pytorch.training.warm_start import InitOptions, warm_start

RESNET = {"name": "resnet", "feat_dim": 9, "depth": 10, "base_channels": 4, "embed_dim": 8, "pooling": "tap"}
MIRNET = {"name": "mirnet", "feat_dim": 9, "encoder_channels": [8, 8, 8, 8, 8], "attention_dim": 4,
          "depth": 10, "base_channels": 4, "embed_dim": 8}


def _ckpt(tmp_path, cfg, seed=0):
    torch.manual_seed(seed)
    model = build_model(cfg)
    path = tmp_path / "avg.pt"
    save_checkpoint({"model": model.state_dict()}, path)
    return path, model.state_dict()


def test_single_speaker_resnet_goes_into_the_mirnet_backbone(tmp_path):
    path, src = _ckpt(tmp_path, RESNET)
    torch.manual_seed(1)
    mir = build_model(MIRNET)
    before = {k: v.clone() for k, v in mir.state_dict().items()}
    assert warm_start(mir, InitOptions(checkpoint=str(path), prefix="backbone.")) == len(src)
    after = mir.state_dict()
    for k, v in src.items():
        assert torch.equal(after["backbone." + k], v)
    rest = [k for k in after if not k.startswith("backbone.")]
    assert rest and all(torch.equal(after[k], before[k]) for k in rest)   # the front end keeps its init
    assert any(not torch.equal(before["backbone." + k], v) for k, v in src.items())


def test_mismatches_are_one_line_config_errors(tmp_path):
    path, _ = _ckpt(tmp_path, RESNET)
    with pytest.raises(ConfigError, match=r"has '[^']+' but the model has no .*prefix"):
        warm_start(build_model(MIRNET), InitOptions(checkpoint=str(path)))
    with pytest.raises(ConfigError, match=r"is \(.*must agree"):
        warm_start(build_model({**RESNET, "base_channels": 2}), InitOptions(checkpoint=str(path)))
    with pytest.raises(CheckpointError, match="not found"):
        warm_start(build_model(RESNET), InitOptions(checkpoint=str(tmp_path / "nope.pt")))


def test_a_fresh_run_starts_from_the_checkpoint(tmp_path, feats_dir, make_cfg):
    cfg = make_cfg(feats_dir, epochs=1)
    conf = tmp_path / "a.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert train_cli.main(["--config", str(conf), "--exp", str(tmp_path / "a")]) == 0
    src = torch.load(tmp_path / "a" / "models" / "epoch_1.pt", weights_only=True)["model"]

    cfg = make_cfg(feats_dir, epochs=2, seed=9, init={"checkpoint": str(tmp_path / "a/models/epoch_1.pt")})
    cfg["optim"]["lr"] = 0.0                      # nothing moves: epoch 1 must hold exactly the loaded weights
    cfg["scheduler"] = {"name": "constant"}
    conf = tmp_path / "b.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert train_cli.main(["--config", str(conf), "--exp", str(tmp_path / "b")]) == 0
    got = torch.load(tmp_path / "b" / "models" / "epoch_1.pt", weights_only=True)["model"]
    for k, v in src.items():
        if k.endswith("num_batches_tracked") or "running_" in k:
            continue                              # BN statistics still update in training mode
        assert torch.equal(got[k], v), k
    assert "initialised" in (tmp_path / "b" / "log" / "train.log").read_text()


def test_unknown_init_keys_fail_before_anything_is_written(tmp_path, feats_dir, make_cfg, capsys):
    cfg = make_cfg(feats_dir, init={"checkpoint": "x.pt", "prefx": "backbone."})
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert train_cli.main(["--config", str(conf), "--exp", str(tmp_path / "c")]) != 0
    assert "prefx" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
