"""`base:` in experiment configs: the base file loads first and the variant's sections merge over it."""
import pytest

from common.errors import ConfigError
from pytorch.bin import config_get
from pytorch.config import load_config


def test_base_merges_mappings_and_replaces_the_rest(tmp_path):
    (tmp_path / "a.yaml").write_text("model: {name: resnet, depth: 34}\ntrain: {epochs: 6}\n"
                                     "backend: {chain: [mean, lnorm], top_n: 300}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text("base: ../a.yaml\ntrain: {epochs: 8}\n"
                                             "backend: {chain: [mean, plda]}\n")
    (tmp_path / "c.yaml").write_text("base: sub/b.yaml\nstages: [{name: lm, epochs: 1}]\n")
    cfg = load_config(tmp_path / "c.yaml", ["train.epochs=9"])
    assert cfg == {"model": {"name": "resnet", "depth": 34}, "train": {"epochs": 9},
                   "backend": {"chain": ["mean", "plda"], "top_n": 300}, "stages": [{"name": "lm", "epochs": 1}]}


def test_config_get_reads_through_base(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("backend: {chain: [mean, lnorm], top_n: 300}\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\nbackend: {top_n: 50}\n")
    assert config_get.main([str(tmp_path / "b.yaml"), "backend.chain"]) == 0
    assert config_get.main([str(tmp_path / "b.yaml"), "backend.top_n"]) == 0
    assert capsys.readouterr().out.split() == ["mean,lnorm", "50"]


@pytest.mark.parametrize("files, message", [
    ({"a.yaml": "base: a.yaml\n"}, "leads back to itself"),
    ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: a.yaml\n"}, "leads back to itself"),
    ({"a.yaml": "base: [b.yaml]\n"}, "base: must name a config file"),
    ({"a.yaml": "base: nothing.yaml\n"}, "nothing.yaml: config file not found"),
    ({"a.yaml": "base: b.yaml\n", "b.yaml": "- 1\n"}, "top level must be a mapping"),
    ({"a.yaml": "base: b.yaml\n", "b.yaml": "modle: {}\n"}, "unknown section 'modle'"),
])
def test_bad_base(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "a.yaml")
