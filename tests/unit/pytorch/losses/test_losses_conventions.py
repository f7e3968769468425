"""Training-side conventions of WeSpeaker (issue 13), against values computed by hand from the
reference formulas: the AAM fallback beyond θ + m > π, the inter-top-k warm-up of m', and the
margin schedule step by step."""
import math

import pytest
import torch

from common.errors import ConfigError
from pytorch.losses import MarginScheduleOptions, MarginScheduler, build_loss
from pytorch.training.trainer import train_options

torch.set_num_threads(1)


def unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


def target_logit(cfg: dict, theta: float) -> float:
    """The target's logit / scale for an embedding at angle θ from its class centre."""
    loss = build_loss({"scale": 1.0, **cfg}, embed_dim=2, num_classes=2)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([unit(0.0), unit(1.0)]))
    return loss(torch.tensor([unit(theta)]), torch.tensor([0]))[1][0, 0].item()


@pytest.mark.parametrize("name", ["aam_softmax", "subcenter_aam", "intertopk_aam"])
def test_aam_fallback_beyond_pi(name):
    cfg = {"name": name, "margin": 0.2, "sub_centers": 1, "top_k": 0}
    # θ = 3.0 > π − 0.2: continuous (WeSpeaker) cos θ − (1 − cos m) = -1.0099259187592038;
    # arcface (insightface) cos θ − m·sin m = -1.0297263627594577.
    assert target_logit(cfg, 3.0) == pytest.approx(-1.0099259187592038, abs=1e-6)
    assert target_logit({**cfg, "fallback": "continuous"}, 3.0) == pytest.approx(-1.0099259187592038, abs=1e-6)
    assert target_logit({**cfg, "fallback": "arcface"}, 3.0) == pytest.approx(-1.0297263627594577, abs=1e-6)
    # Inside the margin region both are cos(θ + m).
    for fb in ("continuous", "arcface"):
        assert target_logit({**cfg, "fallback": fb}, 2.5) == pytest.approx(math.cos(2.7), abs=1e-6)


def test_continuous_fallback_has_no_jump_at_the_switch():
    eps = 1e-4   # θ just below and above π − m: each side is within eps·sin m = 2e-5 of the switch
    below, above = math.pi - 0.2 - eps, math.pi - 0.2 + eps
    cont = [target_logit({"name": "aam_softmax", "margin": 0.2}, t) for t in (below, above)]
    arc = [target_logit({"name": "aam_softmax", "margin": 0.2, "fallback": "arcface"}, t)
           for t in (below, above)]
    assert cont[0] == pytest.approx(-1.0, abs=5e-5) and cont[1] == pytest.approx(-1.0, abs=5e-5)
    # ArcFace's form drops by m·sin m − (1 − cos m) = 0.0198 at the switch.
    assert arc[0] - arc[1] == pytest.approx(0.2 * math.sin(0.2) - (1 - math.cos(0.2)), abs=1e-4)


def topk_logit(schedule: str, final_margin: float, margin_now: float) -> float:
    """Logit / scale of the hardest non-target (θ = 0.8) for an embedding on its centre."""
    cfg = {"name": "intertopk_aam", "margin": final_margin, "scale": 1.0, "top_k": 1,
           "topk_margin": 0.06, "topk_schedule": schedule}
    loss = build_loss(cfg, embed_dim=2, num_classes=3)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([unit(0.0), unit(0.8), unit(2.5)]))
    loss.set_margin(margin_now)
    return loss(torch.tensor([unit(0.0)]), torch.tensor([0]))[1][0, 1].item()


@pytest.mark.parametrize("final,now,capped_mp,wespeaker_mp", [
    (0.3, 0.3, 0.06, 0.09),        # WeSpeaker: 0.06 · 0.3 / 0.2, uncapped
    (0.3, 0.15, 0.03, 0.045),      # halfway: capped 0.06 · 0.15 / 0.3, WeSpeaker 0.06 · 0.15 / 0.2
    (0.2, 0.2, 0.06, 0.06),        # at WeSpeaker's reference margin both agree
    (0.2, 0.001, 0.0003, 0.0),     # WeSpeaker switches m' off while m <= 0.001
    (0.2, 0.002, 0.0006, 0.0006),
])
def test_intertopk_warmup_of_mprime(final, now, capped_mp, wespeaker_mp):
    assert topk_logit("capped", final, now) == pytest.approx(math.cos(0.8 - capped_mp), abs=1e-6)
    assert topk_logit("wespeaker", final, now) == pytest.approx(math.cos(0.8 - wespeaker_mp), abs=1e-6)


def test_loss_convention_keys_are_checked():
    with pytest.raises(ValueError, match="fallback"):
        build_loss({"name": "aam_softmax", "fallback": "mm"}, 2, 3)
    with pytest.raises(ValueError, match="topk_schedule"):
        build_loss({"name": "am_softmax", "topk_schedule": "uncapped"}, 2, 3)
    with pytest.raises(ConfigError, match="unknown key 'fallback'"):
        build_loss({"name": "am_softmax", "fallback": "arcface"}, 2, 3)


ITERS = 4   # steps per epoch; progress (epochs done) = step / ITERS as the training loop passes it


def margins(sched: MarginScheduler, steps: list[int]) -> list[float]:
    return [sched(s / ITERS) for s in steps]


def test_wespeaker_schedule_step_by_step():
    # WeSpeaker increase_start_epoch 3, fix_start_epoch 5, 4 iters: the ramp starts at global step
    # (3-1)·4 = 8 and the margin is fixed from step (5-1)·4 = 16; ratio 1 − (1e-3/(1+1e-6))^p,
    # p = (step − 8) / 8: p = 1/8 -> 0.578303549283451, 1/2 -> 0.9683772392096927,
    # 7/8 -> 0.9976286283692883 (the last ramp step is below 1), then the jump to 1.
    exp = MarginScheduler(final=0.2, start_epoch=3, end_epoch=5, type="exp", convention="wespeaker")
    assert margins(exp, [0, 7, 8, 9, 12, 15, 16, 40]) == pytest.approx(
        [0.0, 0.0, 0.0, 0.2 * 0.578303549283451, 0.2 * 0.9683772392096927, 0.2 * 0.9976286283692883,
         0.2, 0.2], abs=1e-12)
    lin = MarginScheduler(final=0.2, start_epoch=3, end_epoch=5, initial=0.1, type="linear",
                          convention="wespeaker")
    assert margins(lin, [7, 8, 12, 15, 16]) == pytest.approx([0.1, 0.1, 0.15, 0.1875, 0.2], abs=1e-12)
    # The native convention with the same numbers ramps one epoch later (from step 12 to 20).
    native = MarginScheduler(final=0.2, start_epoch=3, end_epoch=5, initial=0.1, type="linear")
    assert margins(native, [8, 12, 16, 20]) == pytest.approx([0.1, 0.1, 0.15, 0.2], abs=1e-12)


def test_wespeaker_schedule_fixed_when_start_equals_end():
    sched = MarginScheduler(final=0.2, start_epoch=2, end_epoch=2, initial=0.05, convention="wespeaker")
    assert margins(sched, [0, 3, 4, 5]) == pytest.approx([0.05, 0.05, 0.2, 0.2])


def test_schedule_convention_reaches_the_scheduler_from_config():
    opts = train_options({"train": {"margin_scheduler": {"start_epoch": 3, "end_epoch": 5,
                                                         "convention": "wespeaker"}}})
    sched = MarginScheduler.from_options(0.2, opts.margin_scheduler)
    assert sched(3.0) == pytest.approx(0.2 * 0.9683772392096927)
    with pytest.raises(ConfigError, match="convention"):
        train_options({"train": {"margin_scheduler": {"convention": "kaldi"}}})
    assert MarginScheduleOptions().convention == "native"
