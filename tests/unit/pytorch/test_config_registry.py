import pytest

from common.errors import ConfigError
from common.registry import Registry
from pytorch.config import apply_overrides, load_config, save_resolved

reg = Registry("widget")


@reg.register("box")
class Box:
    def __init__(self, width: int, height: int = 2, embed_dim: int = 0):
        self.width, self.height, self.embed_dim = width, height, embed_dim


def test_build_checks_keys():
    b = reg.build({"name": "box", "width": 3}, embed_dim=5)
    assert (b.width, b.height, b.embed_dim) == (3, 2, 5)
    with pytest.raises(ConfigError, match="unknown key 'widht'"):
        reg.build({"name": "box", "widht": 3})
    with pytest.raises(ConfigError, match="unknown widget 'circle'.*box"):
        reg.build({"name": "circle"})
    with pytest.raises(ConfigError, match="set by the program"):
        reg.build({"name": "box", "width": 1, "embed_dim": 3}, embed_dim=5)


def test_load_config_strict(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  name: box\n  width: 3\noptim:\n  lr: 0.1\n")
    cfg = load_config(p, ["optim.lr=1e-3", "train.epochs=4", "model.dims=[1, 2]"])
    assert cfg["optim"]["lr"] == 1e-3 and cfg["train"]["epochs"] == 4 and cfg["model"]["dims"] == [1, 2]
    p.write_text("modle:\n  name: box\n")
    with pytest.raises(ConfigError, match="unknown section 'modle'"):
        load_config(p)
    p.write_text("model:\n  name: box\n  name: tdnn\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_config(p)
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        apply_overrides({}, ["optim.lr"])


def test_save_resolved_roundtrip(tmp_path):
    cfg = {"model": {"name": "box", "width": 3}}
    save_resolved(cfg, tmp_path / "config.yaml", argv=["train", "--config", "x"])
    back = load_config(tmp_path / "config.yaml")
    assert back["model"] == cfg["model"] and back["meta"]["argv"][0] == "train"
