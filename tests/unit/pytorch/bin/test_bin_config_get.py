"""pytorch.bin.config_get: the values recipe stages read from exp/<sys>/config.yaml."""
from pytorch.bin import config_get


def _cfg(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("data: {train: data/fbank40/train}\n"
                 "backend: {chain: [mean, 'lda:64', lnorm, plda], top_n: 50, lnorm: true}\n")
    return str(p)


def test_lists_join_with_commas_and_scalars_print_as_is(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    for key, want in (("backend.chain", "mean,lda:64,lnorm,plda"), ("backend.top_n", "50"),
                      ("backend.lnorm", "true"), ("data.train", "data/fbank40/train")):
        assert config_get.main([cfg, key]) == 0
        assert capsys.readouterr().out == want + "\n"


def test_missing_key_is_an_error_unless_defaulted(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    assert config_get.main([cfg, "backend.top_m"]) == 1
    err = capsys.readouterr().err
    assert "no key 'backend.top_m'" in err and cfg in err
    assert config_get.main(["--default", "300", cfg, "backend.top_m"]) == 0
    assert capsys.readouterr().out == "300\n"
    assert config_get.main([cfg, "data.train.x"]) == 1          # a scalar has no sub-keys
    assert "no key 'data.train.x'" in capsys.readouterr().err


def test_missing_file_names_it(tmp_path, capsys):
    assert config_get.main([str(tmp_path / "nope.yaml"), "a"]) == 1
    assert "nope.yaml" in capsys.readouterr().err
