"""The shipped training configs (egs/mini, egs/voxceleb) build: model, loss, optimiser, schedule and every
stage (no data needed)."""
from pathlib import Path

import pytest
import torch

from pytorch.config import load_config
from pytorch.losses import build_loss
from pytorch.models import build_model
from pytorch.training.optim import build_optimizer
from pytorch.training.schedulers import build_scheduler
from pytorch.training.stages import plan_stages
from pytorch.training.trainer import train_options

ROOT = Path(__file__).resolve().parents[4]
CONFIGS = (sorted((ROOT / "egs" / "mini" / "conf").glob("*_mini.yaml"))
           + sorted((ROOT / "egs" / "voxceleb" / "conf").glob("*.yaml")))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_config_builds(path):
    cfg = load_config(path)
    plan = plan_stages(cfg)
    assert len(plan) >= 2                                  # base + a large-margin stage
    model = build_model(cfg["model"])
    for st in plan:
        opts = train_options(st.cfg)
        assert opts.margin_scheduler is None or opts.margin_scheduler.end_epoch <= plan[0].epochs
        loss = build_loss(st.cfg["loss"], model.embed_dim, 80)
        opt = build_optimizer(st.cfg["optim"], list(model.parameters()) + list(loss.parameters()))
        build_scheduler(st.cfg.get("scheduler"), opt, 30, st.epochs)
    emb = model.eval()(torch.zeros(2, cfg["data"]["num_frames"], cfg["model"]["feat_dim"]))
    assert emb.shape == (2, model.embed_dim)
    assert plan[-1].cfg["loss"]["margin"] > cfg["loss"]["margin"]
