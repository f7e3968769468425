"""The shipped training configs (egs/mini, egs/voxceleb) build: model, loss, optimiser, schedule and every
stage (no data needed)."""
from pathlib import Path

import pytest
import torch

from pytorch.config import load_config
from pytorch.config import load_yaml as load_config_file
from pytorch.losses import build_loss
from pytorch.models import build_model
from pytorch.training.optim import build_optimizer
from pytorch.training.schedulers import build_scheduler
from pytorch.training.stages import plan_stages
from pytorch.training.trainer import train_options

ROOT = Path(__file__).resolve().parents[4]
# Feature and VAD configs sit next to the system configs in egs/voxceleb/conf.
FEATURE_CONFIGS = ("fbank", "mfcc", "vad")
CONFIGS = (sorted((ROOT / "egs" / "mini" / "conf").glob("*_mini*.yaml"))
           + sorted(p for p in (ROOT / "egs" / "voxceleb" / "conf").glob("*.yaml")
                    if not p.stem.startswith(FEATURE_CONFIGS)))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_config_builds(path):
    cfg = load_config(path)
    plan = plan_stages(cfg)
    # base + a large-margin stage; the CNSRC baseline has none (resnet34se_lm.yaml adds it, see below)
    assert len(plan) >= 2 or path.stem == "resnet34se"
    model = build_model(cfg["model"])
    for st in plan:
        opts = train_options(st.cfg)
        assert opts.margin_scheduler is None or opts.margin_scheduler.end_epoch <= plan[0].epochs
        loss = build_loss(st.cfg["loss"], model.embed_dim, 80)
        opt = build_optimizer(st.cfg["optim"], list(model.parameters()) + list(loss.parameters()))
        build_scheduler(st.cfg.get("scheduler"), opt, 30, st.epochs)
    emb = model.eval()(torch.zeros(2, cfg["data"]["num_frames"], cfg["model"]["feat_dim"]))
    assert emb.shape == (2, model.embed_dim)
    if len(plan) >= 2:
        assert plan[-1].cfg["loss"]["margin"] > cfg["loss"]["margin"]


def test_cnsrc_lm_is_the_baseline_plus_one_stage():
    """resnet34se_lm.yaml is resnet34se.yaml (through `base:`) with a large-margin stage and nothing else."""
    conf = ROOT / "egs" / "voxceleb" / "conf"
    base, lm = load_config(conf / "resnet34se.yaml"), load_config(conf / "resnet34se_lm.yaml")
    stages = lm.pop("stages")
    assert lm == base and "stages" not in base
    assert [s["name"] for s in stages] == ["lm"] and stages[0]["set"]["loss.margin"] > base["loss"]["margin"]
    assert (ROOT / "egs" / "cnceleb" / "conf" / "resnet34se_lm.yaml").resolve() == conf / "resnet34se_lm.yaml"


def test_cnsrc_config_is_the_subtools_model():
    """conf/resnet34se.yaml builds ASV-Subtools' CNSRC SE-ResNet-34 (6,806,710 parameters without its
    loss), and its feature configs are the ones the Subtools importer writes."""
    from pytorch.interchange import subtools
    from pytorch.models.macs import count_params
    conf = ROOT / "egs" / "voxceleb" / "conf"
    cfg = load_config(conf / "resnet34se.yaml")
    assert count_params(build_model(cfg["model"])) == 6_806_710
    assert cfg["model"] == subtools.MODEL | {"two_emb_layer": False}
    assert load_config_file(conf / "fbank81.yaml") == subtools.FBANK81
    vad = load_config_file(conf / "vad.yaml")
    assert {k: vad[k] for k in subtools.VAD} == subtools.VAD
    # Input rule: sliding CMN (300) before VAD, training on voiced frames, extraction on all frames,
    # in the recipe config and in what the importer writes.
    from common.registry import build_options
    from pytorch.data.options import DataOptions, ExtractOptions
    sections, _, _ = subtools.convert(None, "x")
    for data, extract in ((cfg["data"], cfg["extract"]), (sections["data"], sections["extract"])):
        d, e = build_options(DataOptions, data, "data"), build_options(ExtractOptions, extract, "extract")
        assert (d.cmn, d.cmn_window, d.use_vad, e.use_vad) == (True, subtools.CMN_WINDOW, True, False)
