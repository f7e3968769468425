"""LR schedules at given steps against hand-computed values; optimiser registry."""
import math

import pytest
import torch

from common.errors import ConfigError
from pytorch.training.optim import OPTIMIZERS, build_optimizer
from pytorch.training.schedulers import build_scheduler


def lrs(cfg: dict, steps: int, spe: int = 4, epochs: int = 3, lr: float = 0.1) -> list[float]:
    """lr used by optimiser steps 0..steps-1."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = build_scheduler(cfg, opt, spe, epochs)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step_iter()
    return out


def test_warmup_exp():
    v = lrs({"name": "warmup_exp", "warmup_epochs": 0.5, "final_lr": 0.001}, 21)   # W = 2, T = 12
    assert v[0] == pytest.approx(0.05) and v[1] == pytest.approx(0.1) and v[2] == pytest.approx(0.1)
    assert v[7] == pytest.approx(0.01)            # p = 5/10: 0.1 * 0.01 ** 0.5
    assert v[12] == pytest.approx(0.001) and v[20] == pytest.approx(0.001)   # stays at final_lr


def test_warmup_cosine():
    v = lrs({"name": "warmup_cosine", "warmup_epochs": 0.5, "final_lr": 0.0}, 14)
    assert v[0] == pytest.approx(0.05) and v[2] == pytest.approx(0.1)
    assert v[4] == pytest.approx(0.05 * (1 + math.cos(0.2 * math.pi)))   # 0.0904508
    assert v[7] == pytest.approx(0.05) and v[12] == pytest.approx(0.0, abs=1e-12)


def test_cyclic_modes():
    tri = lrs({"name": "cyclic", "min_lr": 0.01, "half_cycle_epochs": 0.5}, 8)       # H = 2 steps
    assert tri == pytest.approx([0.01, 0.055, 0.1, 0.055, 0.01, 0.055, 0.1, 0.055])
    tri2 = lrs({"name": "cyclic", "min_lr": 0.01, "max_lr": 0.05, "half_cycle_epochs": 0.5,
                "mode": "triangular2"}, 8)
    assert tri2 == pytest.approx([0.01, 0.03, 0.05, 0.03, 0.01, 0.02, 0.03, 0.02])
    exp = lrs({"name": "cyclic", "min_lr": 0.0, "half_cycle_epochs": 0.5, "mode": "exp_range",
               "gamma": 0.5}, 3)
    assert exp == pytest.approx([0.0, 0.1 * 0.5 * 0.5, 0.1 * 0.25])


def test_constant_default_and_warmup():
    assert lrs(None, 3) == pytest.approx([0.1, 0.1, 0.1])
    assert lrs({"name": "constant", "warmup_epochs": 1}, 5) == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])


def test_plateau_steps_per_epoch_only():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = build_scheduler({"name": "plateau", "factor": 0.5, "patience": 1}, opt, 4, 10)
    for _ in range(10):
        sched.step_iter()
    assert opt.param_groups[0]["lr"] == 0.1
    seen = []
    for metric in (1.0, 0.9, 0.95, 0.96, 0.97, 0.98):
        sched.step_epoch(metric)
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])


def test_state_dict_resumes_exactly():
    cfg = {"name": "warmup_cosine", "warmup_epochs": 1, "final_lr": 0.001}
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = build_scheduler(cfg, opt, 4, 3)
    for _ in range(5):
        opt.step()
        sched.step_iter()
    o_state, s_state = opt.state_dict(), sched.state_dict()
    opt2 = torch.optim.SGD([p], lr=0.1)
    sched2 = build_scheduler(cfg, opt2, 4, 3)
    opt2.load_state_dict(o_state)
    sched2.load_state_dict(s_state)
    for _ in range(3):
        opt.step(), opt2.step()
        sched.step_iter(), sched2.step_iter()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_config_errors():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="unknown key 'warmup'"):
        build_scheduler({"name": "warmup_exp", "warmup": 1}, opt, 4, 3)
    with pytest.raises(ConfigError, match="set by the program"):
        build_scheduler({"name": "warmup_exp", "epochs": 3}, opt, 4, 3)
    with pytest.raises(ConfigError, match="unknown scheduler 'step'"):
        build_scheduler({"name": "step"}, opt, 4, 3)
    with pytest.raises(ConfigError, match="mode"):
        build_scheduler({"name": "cyclic", "mode": "sine"}, opt, 4, 3)


def test_optimizers():
    assert {"sgd", "adamw"} <= set(OPTIMIZERS.names())
    params = [torch.nn.Parameter(torch.ones(2))]
    sgd = build_optimizer({"name": "sgd", "lr": 0.5, "momentum": 0.9, "nesterov": True}, params)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["nesterov"]
    adamw = build_optimizer({"name": "adamw", "lr": 1e-3, "weight_decay": 0.05}, params)
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["weight_decay"] == 0.05
    with pytest.raises(ConfigError, match="unknown key 'momentun'"):
        build_optimizer({"name": "sgd", "lr": 0.1, "momentun": 0.9}, params)


def test_loaded_state_follows_a_changed_config():
    """Resuming under a longer schedule (bin/train --force): the step count is state, the length is config."""
    cfg = {"name": "warmup_exp", "warmup_epochs": 0, "final_lr": 0.001}
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = build_scheduler(cfg, opt, 4, 3)                 # T = 12
    for _ in range(6):
        opt.step()
        sched.step_iter()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)  # p = 6/12
    opt2 = torch.optim.SGD([p], lr=0.1)
    longer = build_scheduler(cfg, opt2, 4, 6)               # T = 24
    opt2.load_state_dict(opt.state_dict())
    longer.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.01 ** 0.25)   # p = 6/24
