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


def test_one_validator_for_options_and_registry():
    from dataclasses import dataclass

    from common.registry import build_options
    from pytorch.data.options import DataOptions, LoaderOptions, loader_options
    from pytorch.training.trainer import TrainOptions

    @dataclass
    class Inner:
        rate: float = 1.0

        def check(self, where):
            if self.rate <= 0:
                raise ConfigError(f"{where}.rate: must be > 0")

    @dataclass
    class Outer:
        size: int = 2
        on: bool = True
        kind: str = "a"
        inner: Inner | None = None
        _nested = {"inner": Inner}
        _choices = {"kind": ("a", "b")}

    o = build_options(Outer, {"size": 3.0, "inner": {"rate": 2}}, "sec")
    assert o.size == 3 and isinstance(o.size, int) and o.inner.rate == 2.0
    for bad, msg in [({"size": 2.5}, "sec.size: must be an integer"),
                     ({"on": 1}, "sec.on: must be true or false"),
                     ({"kind": "c"}, "sec.kind: 'c' is not one of a, b"),
                     ({"inner": {"rate": 0}}, "sec.inner.rate"),
                     ({"sise": 1}, "sec: unknown key 'sise'; valid keys: inner, kind, on, size")]:
        with pytest.raises(ConfigError, match=msg):
            build_options(Outer, bad, "sec")
    with pytest.raises(ConfigError, match="data.cmn: must be true or false"):
        build_options(DataOptions, {"cmn": 1}, "data")
    # Registry.build goes through the same validator, so a registered options class is typed too.
    r = Registry("thing")
    r.add("outer", Outer)
    with pytest.raises(ConfigError, match=r"thing \(outer\).size: must be an integer"):
        r.build({"name": "outer", "size": 1.5})
    # The loader's train keys have one set of defaults, shared with the trainer's options.
    assert loader_options({"epochs": 3, "seed": 4}) == LoaderOptions(seed=4)
    assert TrainOptions().batch_size == LoaderOptions().batch_size
    with pytest.raises(ConfigError, match="train.batch_size"):
        loader_options({"batch_size": 0})


def test_dotted_keys():
    from pytorch.config import get_dotted, set_dotted
    cfg = {"data": {"train": "d"}}
    set_dotted(cfg, "optim.sgd.lr", 0.1, "w")
    assert get_dotted(cfg, "optim.sgd.lr") == 0.1 and get_dotted(cfg, "data") == {"train": "d"}
    with pytest.raises(KeyError, match="data.train.x"):
        get_dotted(cfg, "data.train.x")
    with pytest.raises(ConfigError, match="'data.train' is not a mapping"):
        set_dotted(cfg, "data.train.x", 1, "w")
