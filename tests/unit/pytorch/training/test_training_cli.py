"""bin/train as a user meets it: a config with a mistake leaves the exp dir untouched (so the
corrected rerun needs no --force), non-finite features are named, Ctrl-C is one line."""
import kaldiio
import numpy as np
import pytest
import yaml

from pytorch.bin import train as train_cli


def _write(cfg, path):
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("mistake, message", [
    (lambda c: c["loss"].update(name="arcface"), "unknown loss 'arcface'"),
    (lambda c: c["model"].update(feat_dim=7), "5-dim features but model.feat_dim is 7"),
    (lambda c: c["data"].update(valid="/no/such/dir"), "/no/such/dir: data directory not found"),
    (lambda c: c.update(stages=[{"name": "lm", "epochs": 1, "set": {"optim.name": "adam"}}]),
     "unknown optimizer 'adam'"),
])
def test_a_config_mistake_writes_nothing_and_the_fix_runs_without_force(tmp_path, feats_dir, make_cfg,
                                                                         capsys, mistake, message):
    cfg = make_cfg(feats_dir, epochs=1)
    bad = make_cfg(feats_dir, epochs=1)
    mistake(bad)
    exp = tmp_path / "exp"
    assert train_cli.main(["--config", _write(bad, tmp_path / "c.yaml"), "--exp", str(exp)]) == 1
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert last.startswith("train: error:") and message in last and "Traceback" not in err
    assert not exp.exists()
    assert train_cli.main(["--config", _write(cfg, tmp_path / "c.yaml"), "--exp", str(exp)]) == 0
    assert (exp / "config.yaml").exists() and (exp / "models" / "epoch_1.pt").exists()
    assert "training" in (exp / "log" / "train.log").read_text()     # lines from before the start too


def test_nan_features_are_named_not_blamed_on_the_learning_rate(tmp_path, feats_dir, make_cfg, capsys):
    feats = dict(kaldiio.load_scp(str(feats_dir / "feats.scp")))
    with kaldiio.WriteHelper(f"ark,scp:{feats_dir}/feats.ark,{feats_dir}/feats.scp") as w:
        for utt in sorted(feats):
            mat = np.array(feats[utt])
            if utt == "s2-u1":
                mat[:, 0] = np.nan                   # every chunk of it holds NaN
            w(utt, mat)
    cfg = make_cfg(feats_dir, epochs=1)
    assert train_cli.main(["--config", _write(cfg, tmp_path / "c.yaml"), "--exp", str(tmp_path / "e")]) == 1
    err = capsys.readouterr().err
    assert "s2-u1" in err and "not finite" in err and "optim.lr" not in err


def test_ctrl_c_is_one_line_and_exit_code_130(tmp_path, feats_dir, make_cfg, monkeypatch, capsys):
    from pytorch.training import trainer

    def interrupted(self, resume=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(trainer.Trainer, "run", interrupted)
    cfg = make_cfg(feats_dir, epochs=1)
    assert train_cli.main(["--config", _write(cfg, tmp_path / "c.yaml"), "--exp", str(tmp_path / "e")]) == 130
    err = capsys.readouterr().err
    assert err.endswith("\ntrain: interrupted\n") and "Traceback" not in err
