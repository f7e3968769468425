"""Tiny feature data dirs and configs for the trainer tests (a few speakers, 5-dim features)."""
from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def write_feats_dir(path: Path, num_spk: int = 4, utts_per_spk: int = 4, dim: int = 5, frames: int = 40,
                    seed: int = 0) -> Path:
    """Speaker k's frames are noise around a speaker mean, so a model can learn something."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((num_spk, dim)) * 2
    utts = {f"s{k}-u{j}": (f"s{k}", (means[k] + rng.standard_normal((frames + j, dim))).astype(np.float32))
            for k in range(num_spk) for j in range(utts_per_spk)}
    with kaldiio.WriteHelper(f"ark,scp:{path}/feats.ark,{path}/feats.scp") as w:
        for u in sorted(utts):
            w(u, utts[u][1])
    (path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, (s, _) in sorted(utts.items())))
    spk2utt: dict[str, list[str]] = {}
    for u, (s, _) in sorted(utts.items()):
        spk2utt.setdefault(s, []).append(u)
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return path


def tiny_config(train_dir: Path, **train: object) -> dict:
    return {
        "data": {"train": str(train_dir), "num_frames": 20, "cmn": True},
        "model": {"name": "tdnn", "feat_dim": 5, "hidden": 8, "stats_dim": 12, "embed_dim": 6},
        "loss": {"name": "aam_softmax", "margin": 0.2, "scale": 16.0},
        "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
        "scheduler": {"name": "warmup_exp", "warmup_epochs": 0.5, "final_lr": 0.005},
        "train": {"epochs": 2, "batch_size": 4, "num_workers": 0, "seed": 3, "log_interval": 2, **train},
    }


@pytest.fixture
def feats_dir(tmp_path) -> Path:
    return write_feats_dir(tmp_path / "data" / "train")


@pytest.fixture
def make_cfg():
    return tiny_config


@pytest.fixture
def make_feats_dir():
    return write_feats_dir
