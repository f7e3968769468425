"""pytorch.bin.train_cm on a tiny generated spoof data dir: it trains, keeps the best dev epoch in best.pt
(loadable by score_cm's loader), resumes where it stopped with the same result as an uninterrupted run,
refuses a changed config, and a bad config leaves no exp dir. Also RawBoost (the dev EER is common.eer, tested in
tests/unit/common/test_eer.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from pytorch.bin import train_cm
from pytorch.data.rawboost import RawBoostOptions, rawboost
from pytorch.models.aasist import AASIST, load_aasist
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.cm_trainer import recalibrate_bn

RATE = 16000
MODEL = {"name": "aasist", "first_conv": 32, "filts": [24, [1, 4], [4, 4], [4, 8], [8, 8]], "gat_dims": [8, 8],
         "pool_ratios": [0.5, 0.5, 0.5, 0.5], "temperatures": [2.0, 2.0, 100.0, 100.0], "nb_samp": 4000}


def _data(d: Path, n: int, seed: int) -> str:
    """Bona fide = a harmonic tone in noise, spoof = white noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    wav, u2a, u2s = [], [], []
    for i in range(n):
        bona = i % 2 == 0
        t = np.arange(int(RATE * rng.uniform(0.2, 0.4))) / RATE
        x = 0.3 * np.sin(2 * np.pi * 220 * t) if bona else 0.3 * rng.standard_normal(len(t))
        x = (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
        utt = f"s{i % 3}-u{i:02d}"
        sf.write(d / f"{utt}.wav", x, RATE)
        wav.append(f"{utt} {d / f'{utt}.wav'}\n")
        u2a.append(f"{utt} {'bonafide' if bona else 'A01'}\n")
        u2s.append(f"{utt} s{i % 3}\n")
    for name, lines in (("wav.scp", wav), ("utt2attack", u2a), ("utt2spk", u2s)):
        (d / name).write_text("".join(sorted(lines)))
    return str(d)


def _config(tmp_path: Path, epochs: int = 2) -> Path:
    cfg = {"data": {"train": _data(tmp_path / "train", 16, 0), "dev": _data(tmp_path / "dev", 8, 1)},
           "model": MODEL, "optim": {"lr": 0.003, "lr_min": 0.001},
           "train": {"epochs": epochs, "batch_size": 4, "seed": 3, "class_weights": [0.5, 0.5], "device": "cpu",
                     "crop": 3000, "bn_recalibrate": 2},
           "augment": {"rawboost": {"algos": [2], "prob": 0.5}}}
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_trains_keeps_best_and_resumes(tmp_path):
    torch.set_num_threads(1)
    conf = _config(tmp_path)
    exp = tmp_path / "exp"
    assert train_cm.main(["--config", str(conf), "--exp", str(exp)]) == 0
    models = sorted(p.name for p in (exp / "models").iterdir())
    assert models == ["best.pt", "epoch_1.pt", "epoch_2.pt"]
    best = ckpt_io.load_checkpoint(exp / "models" / "best.pt")
    last = ckpt_io.load_checkpoint(exp / "models" / "epoch_2.pt")
    assert best["epoch"] == last["best"]["epoch"] and best["dev_eer"] == last["best"]["dev_eer"]
    assert (exp / "log" / "train.log").read_text().count("train loss") == 2
    with open(exp / "config.yaml") as f:
        assert yaml.safe_load(f)["meta"]["git_sha"]
    model = load_aasist(exp / "config.yaml", exp / "models" / "best.pt")   # score_cm's loader
    assert model.embed_dim == 40

    # Killed during epoch 2: the resumed run ends with the same weights as the uninterrupted one.
    exp2 = tmp_path / "exp2"
    shutil.copytree(exp, exp2)
    (exp2 / "models" / "epoch_2.pt").unlink()
    assert train_cm.main(["--config", str(conf), "--exp", str(exp2)]) == 0
    again = ckpt_io.load_checkpoint(exp2 / "models" / "epoch_2.pt")["model"]
    for k, v in last["model"].items():
        assert torch.equal(v, again[k]), k
    assert train_cm.main(["--config", str(conf), "--exp", str(exp2), "--set", "train.epochs=3"]) == 1  # refused
    # A finished run returns at once and leaves its checkpoints alone.
    stamp = (exp / "models" / "epoch_2.pt").stat().st_mtime
    assert train_cm.main(["--config", str(conf), "--exp", str(exp)]) == 0
    assert (exp / "models" / "epoch_2.pt").stat().st_mtime == stamp


def test_bad_config_leaves_nothing(tmp_path, capsys):
    conf = _config(tmp_path)
    exp = tmp_path / "exp"
    assert train_cm.main(["--config", str(conf), "--exp", str(exp), "--set", "train.class_weights=[1]"]) == 1
    assert "class_weights" in capsys.readouterr().err
    assert train_cm.main(["--config", str(conf), "--exp", str(exp), "--set", "model.filts=[1]"]) == 1
    assert not exp.exists()


def test_rawboost_keeps_length_and_peak_and_changes_the_signal():
    rng = np.random.default_rng(0)
    x = (0.5 * np.sin(2 * np.pi * 300 * np.arange(8000) / RATE)).astype(np.float32)
    for algos in ([1], [2], [3], [1, 2, 3]):
        y = rawboost(x, RATE, RawBoostOptions(algos=algos), rng)
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.max(np.abs(y)) == pytest.approx(0.5, rel=1e-5)
        assert not np.allclose(y, x, atol=1e-3)
    assert rawboost(x, RATE, RawBoostOptions(prob=0.0), rng) is x


def test_recalibrate_bn_takes_the_batch_statistics_and_restores_momentum():
    # Speech-level input: the first batch norm sees a variance far below its initial running value of 1,
    # which is what left a short training scoring at chance in eval mode.
    torch.manual_seed(0)
    model = AASIST(**{k: v for k, v in MODEL.items() if k != "name"})
    waves = 0.03 * torch.randn(2, 4, 4000)
    seen = []
    hook = model.first_bn.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    recalibrate_bn(model, [(w, torch.zeros(4)) for w in waves], 1, torch.device("cpu"))
    hook.remove()
    assert len(seen) == 1                                  # one batch asked for, one used
    x = seen[0]
    assert model.first_bn.running_mean.item() == pytest.approx(x.mean().item(), rel=1e-4)
    assert model.first_bn.running_var.item() == pytest.approx(x.var().item(), rel=1e-3)   # unbiased, as BN keeps
    assert x.var().item() < 1e-2                          # far from the initial 1
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_dropout_scales_the_official_rates():
    kw = {k: v for k, v in MODEL.items() if k != "name"}
    rates = sorted({m.p for m in AASIST(**kw).modules() if isinstance(m, torch.nn.Dropout)})
    assert rates == [0.2, 0.3, 0.5]                        # the official model
    rates = sorted({m.p for m in AASIST(**kw, dropout=0.5).modules() if isinstance(m, torch.nn.Dropout)})
    assert rates == pytest.approx([0.1, 0.15, 0.25])
    assert not any(m.p for m in AASIST(**kw, dropout=0.0).modules() if isinstance(m, torch.nn.Dropout))
