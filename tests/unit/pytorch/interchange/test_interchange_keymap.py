"""A corrupted checkpoint or key map is refused with one line naming the key; training heads are dropped."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytorch.bin import import_model
from pytorch.interchange import import_checkpoint, subtools, wespeaker
from pytorch.interchange.keymap import InterchangeError, remap_state_dict
from pytorch.models import build_model

FOREIGN = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "pretrained" / "foreign"
RESNET = FOREIGN / "voxceleb_resnet34"
CNSRC = FOREIGN / "cnsrc_se_resnet34" / "epoch_6.params"
needs_fixtures = pytest.mark.skipif(not FOREIGN.is_dir(), reason=f"foreign-checkpoint fixtures absent: {FOREIGN}")


def _small() -> tuple[torch.nn.Module, dict, dict]:
    """A tiny ResNet in Subtools' layout: the key map and a matching foreign state_dict."""
    model = build_model({"name": "resnet", "feat_dim": 16, "depth": 10, "base_channels": 4, "se": True,
                         "se_reduction": 4, "se_min_hidden": 1, "embed_dim": 8, "head": "xvector"})
    key_map = {"resnet.conv1": "stem.0.0", "resnet.bn1": "stem.0.1", "fc2.affine": "seg1", "fc2.batchnorm": "head_bn"}
    for i in range(4):
        theirs, ours = f"resnet.layer{i + 1}.0", f"stages.{i}.0"
        key_map.update({f"{theirs}.conv1": f"{ours}.body.0.0", f"{theirs}.bn1": f"{ours}.body.0.1",
                        f"{theirs}.conv2": f"{ours}.body.2.0", f"{theirs}.bn2": f"{ours}.body.2.1",
                        f"{theirs}.downsample.0": f"{ours}.shortcut.0", f"{theirs}.downsample.1": f"{ours}.shortcut.1",
                        f"{theirs}.se.fc_1": f"{ours}.se.fc1", f"{theirs}.se.fc_2": f"{ours}.se.fc2"})
    inverse = {v: k for k, v in key_map.items()}
    src = {}
    for key, t in model.state_dict().items():
        module, _, name = key.rpartition(".")
        src[f"{inverse[module]}.{name}"] = torch.randn_like(t) if t.is_floating_point() else t
    src["fc2.affine.weight"] = src["fc2.affine.weight"].unsqueeze(-1)     # Conv1d kernel 1, as Subtools
    return model, key_map, src


def _remap(model, key_map, src):
    return remap_state_dict(src, key_map, model, "x.params", drop=("loss",), squeeze=("fc2.affine.weight",))


def test_a_consistent_map_loads_and_drops_the_loss_head():
    model, key_map, src = _small()
    src["loss.weight"] = torch.randn(8, 5)
    model.load_state_dict(_remap(model, key_map, src), strict=True)
    assert torch.equal(model.seg1.weight, src["fc2.affine.weight"][..., 0])


def test_an_unknown_key_is_refused():
    model, key_map, src = _small()
    src["resnet.layer9.0.conv1.weight"] = src.pop("resnet.layer4.0.conv1.weight")
    with pytest.raises(InterchangeError, match=r"unknown key 'resnet\.layer9\.0\.conv1\.weight'"):
        _remap(model, key_map, src)


def test_a_missing_key_is_refused():
    model, key_map, src = _small()
    del src["resnet.layer2.0.bn2.running_var"]
    with pytest.raises(InterchangeError, match=r"missing key 'resnet\.layer2\.0\.bn2\.running_var'"):
        _remap(model, key_map, src)


def test_a_wrong_shape_is_refused():
    model, key_map, src = _small()
    src["resnet.layer3.0.se.fc_1.weight"] = torch.randn(3, 16)
    with pytest.raises(InterchangeError, match=r"'resnet\.layer3\.0\.se\.fc_1\.weight' has shape \(3, 16\)"):
        _remap(model, key_map, src)


def test_a_corrupted_key_map_is_refused():
    model, key_map, src = _small()
    key_map["resnet.layer1.0.bn1"] = "stages.0.0.body.2.1"      # two foreign BNs onto one of ours
    with pytest.raises(InterchangeError, match="second time|has shape|missing key"):
        _remap(model, key_map, src)
    model, key_map, src = _small()
    key_map["resnet.layer1.0.se.fc_1"] = "stages.0.0.se.fc9"
    with pytest.raises(InterchangeError, match=r"'resnet\.layer1\.0\.se\.fc_1\.\w+' maps to 'stages\.0\.0\.se\.fc9"):
        _remap(model, key_map, src)


@needs_fixtures
@pytest.mark.parametrize("edit, message", [
    (lambda sd: sd.__setitem__("seg_2.weight", sd.pop("seg_1.weight")), "unknown key 'seg_2.weight'"),
    (lambda sd: sd.pop("layer3.5.bn2.running_mean"), "missing key 'layer3.5.bn2.running_mean'"),
    (lambda sd: sd.__setitem__("layer1.0.conv1.weight", torch.zeros(32, 32, 3, 1)),
     "'layer1.0.conv1.weight' has shape"),
])
def test_the_cli_refuses_a_corrupted_wespeaker_checkpoint(tmp_path, capsys, edit, message):
    sd = torch.load(RESNET / "avg_model.pt", weights_only=True)
    edit(sd)
    torch.save(sd, tmp_path / "avg_model.pt")
    rc = import_model.main(["--from", "wespeaker", "--checkpoint", str(tmp_path / "avg_model.pt"),
                            "--config", str(RESNET / "config.yaml"), "--exp", str(tmp_path / "exp")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and message in err[-1] and err[-1].startswith("import_model: error:")
    assert not (tmp_path / "exp" / "models" / "avg.pt").exists()


@needs_fixtures
def test_a_pickled_object_is_refused(tmp_path):
    torch.save({"model": {"w": torch.zeros(1)}, "x": Path("/")}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="refused"):
        import_checkpoint("subtools", tmp_path / "evil.pt")


def test_config_rules():
    with pytest.raises(InterchangeError, match="--config"):
        wespeaker.convert(None, "x")
    with pytest.raises(InterchangeError, match="drop --config"):
        subtools.convert({"model": "x"}, "x")
    with pytest.raises(InterchangeError, match="not supported"):
        wespeaker.convert({"model": "ECAPA_TDNN_GLOB_c512", "model_args": {"pooling_func": "MQMHA"}}, "c.yaml")
    cfg, _, _ = wespeaker.convert({"model": "ResNet293", "model_args": {"feat_dim": 80, "embed_dim": 256}}, "c.yaml")
    assert cfg["model"]["depth"] == 293 and cfg["features"]["window_type"] == "hamming"


def test_key_maps_cover_the_models():
    """Every tensor of the models the importers build has a foreign name in the key map."""
    for key_map, model_cfg in ((subtools._key_map(), subtools.MODEL),
                               (wespeaker._resnet_map(34), {"name": "resnet34", "feat_dim": 80}),
                               (wespeaker._ecapa_map(), {"name": "ecapa_tdnn_c512", "feat_dim": 80})):
        mapped = set(key_map.values())
        modules = {k.rpartition(".")[0] for k in build_model(model_cfg).state_dict()}
        assert modules <= mapped, sorted(modules - mapped)[:3]
