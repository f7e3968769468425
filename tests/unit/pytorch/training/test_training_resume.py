"""Stop-and-resume equals an uninterrupted run, bit for bit; the exp-dir rules of bin/train."""
import shutil

import pytest
import torch
import yaml

from pytorch.bin import train as train_cli


def _write(cfg, path):
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _ckpt(exp, epoch):
    return torch.load(exp / "models" / f"epoch_{epoch}.pt", weights_only=True)


def _assert_same_state(a, b):
    for part in ("model", "loss"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k} differs"
    oa, ob = a["optimizer"], b["optimizer"]
    assert oa["param_groups"] == ob["param_groups"]
    for pid in oa["state"]:
        for k, v in oa["state"][pid].items():
            assert torch.equal(v, ob["state"][pid][k]), f"optimizer state {pid}.{k} differs"
    assert a["scheduler"] == b["scheduler"] and a["step"] == b["step"] and a["epoch"] == b["epoch"]


def test_resume_continues_exactly(tmp_path, feats_dir, make_cfg, make_feats_dir):
    valid = make_feats_dir(tmp_path / "data" / "valid", utts_per_spk=2, seed=1)
    cfg = make_cfg(feats_dir, epochs=3, margin_scheduler={"start_epoch": 0, "end_epoch": 2, "initial": 0.0})
    cfg["data"]["valid"] = str(valid)
    conf = _write(cfg, tmp_path / "c.yaml")
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert train_cli.main(["--config", conf, "--exp", str(straight)]) == 0
    # A run stopped after epoch 1 leaves exactly what epoch_1.pt holds: copy it alone, then resume.
    (stopped / "models").mkdir(parents=True)
    shutil.copy(straight / "config.yaml", stopped / "config.yaml")
    shutil.copy(straight / "models" / "epoch_1.pt", stopped / "models" / "epoch_1.pt")
    assert train_cli.main(["--config", conf, "--exp", str(stopped)]) == 0
    for epoch in (2, 3):
        _assert_same_state(_ckpt(straight, epoch), _ckpt(stopped, epoch))
    assert "resuming from" in (stopped / "log" / "train.log").read_text()
    log = (straight / "log" / "train.log").read_text()
    assert "valid loss" in log and "epoch 3/3" in log
    # The margin warmed up from 0 over two epochs, then stays at loss.margin.
    last = [line for line in log.splitlines() if "epoch 3/3 (base): train loss" in line]
    assert len(last) == 1 and "margin 0.200" in last[0]
    first = [line for line in log.splitlines() if "epoch 1/3 (base): train loss" in line]
    assert "margin 0.2" not in first[0]                 # still warming up at the end of epoch 1
    saved = yaml.safe_load((straight / "config.yaml").read_text())
    assert saved["meta"]["argv"][-2:] == ["--exp", str(straight)] and "git_sha" in saved["meta"]


def test_rerun_is_a_noop_and_config_changes_are_refused(tmp_path, feats_dir, make_cfg, capsys):
    conf = _write(make_cfg(feats_dir, epochs=1), tmp_path / "c.yaml")
    exp = str(tmp_path / "exp")
    assert train_cli.main(["--config", conf, "--exp", exp]) == 0
    first = _ckpt(tmp_path / "exp", 1)
    assert train_cli.main(["--config", conf, "--exp", exp]) == 0          # nothing left to train
    assert "already trained" in (tmp_path / "exp" / "log" / "train.log").read_text()
    capsys.readouterr()
    assert train_cli.main(["--config", conf, "--exp", exp, "--set", "optim.lr=0.5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("train: error:") and "optim.lr: 0.05 -> 0.5" in err and "--force true" in err
    assert train_cli.main(["--config", conf, "--exp", exp, "--resume", "none"]) == 1
    assert "--resume none would overwrite" in capsys.readouterr().err
    # --force with more epochs continues from epoch 1 under the new config.
    assert train_cli.main(["--config", conf, "--exp", exp, "--set", "train.epochs=2", "--force", "true"]) == 0
    assert _ckpt(tmp_path / "exp", 2)["epoch"] == 2
    # --resume none --force restarts: old checkpoints go, epoch 1 is retrained identically.
    assert train_cli.main(["--config", conf, "--exp", exp, "--resume", "none", "--force", "true"]) == 0
    assert not (tmp_path / "exp" / "models" / "epoch_2.pt").exists()
    _assert_same_state(first, _ckpt(tmp_path / "exp", 1))


def test_user_errors_are_one_line(tmp_path, feats_dir, make_cfg, capsys):
    cfg = make_cfg(feats_dir, epochs=1)
    cfg["model"]["feat_dim"] = 7
    assert train_cli.main(["--config", _write(cfg, tmp_path / "c.yaml"), "--exp", str(tmp_path / "e1")]) == 1
    assert "5-dim features but model.feat_dim is 7" in capsys.readouterr().err
    cfg = make_cfg(feats_dir, epochs=1, gradclip=1.0)
    assert train_cli.main(["--config", _write(cfg, tmp_path / "d.yaml"), "--exp", str(tmp_path / "e2")]) == 1
    assert "train: unknown key 'gradclip'" in capsys.readouterr().err
    cfg = make_cfg(feats_dir, epochs=1)
    cfg["loss"]["name"] = "arcface"
    assert train_cli.main(["--config", _write(cfg, tmp_path / "f.yaml"), "--exp", str(tmp_path / "e3")]) == 1
    assert "unknown loss 'arcface'" in capsys.readouterr().err
    assert train_cli.main(["--config", _write(make_cfg(feats_dir), tmp_path / "g.yaml"),
                           "--exp", str(tmp_path / "e4"), "--resume", str(tmp_path / "nope.pt")]) == 1
    assert "no such checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("loss", [{"name": "softmax"}, {"name": "am_softmax", "margin": 0.2},
                                  {"name": "subcenter_aam", "sub_centers": 2},
                                  {"name": "intertopk_aam", "top_k": 2}])
def test_every_loss_trains(tmp_path, feats_dir, make_cfg, loss):
    cfg = make_cfg(feats_dir, epochs=1, grad_clip=1.0)
    cfg["loss"] = loss
    cfg["optim"] = {"name": "adamw", "lr": 1e-3}
    cfg["scheduler"] = {"name": "plateau", "patience": 0}
    assert train_cli.main(["--config", _write(cfg, tmp_path / "c.yaml"), "--exp", str(tmp_path / "e")]) == 0
    assert _ckpt(tmp_path / "e", 1)["loss"]


def test_rerun_of_a_finished_run_keeps_avg(tmp_path, feats_dir, make_cfg):
    """A finished run trains nothing on rerun and leaves avg.pt (what was exported from it) alone."""
    conf = _write(make_cfg(feats_dir, epochs=2, average_last=2), tmp_path / "c.yaml")
    exp = tmp_path / "exp"
    assert train_cli.main(["--config", conf, "--exp", str(exp)]) == 0
    avg = exp / "models" / "avg.pt"
    before = (avg.stat().st_mtime_ns, (exp / "models" / "epoch_2.pt").stat().st_mtime_ns)
    assert train_cli.main(["--config", conf, "--exp", str(exp)]) == 0
    assert (avg.stat().st_mtime_ns, (exp / "models" / "epoch_2.pt").stat().st_mtime_ns) == before
    avg.unlink()                                    # a missing average is made again
    assert train_cli.main(["--config", conf, "--exp", str(exp)]) == 0
    assert avg.exists()
