"""Margin losses on hand-made 2-D cases: class centres at known angles, so every cos θ is known."""
import math

import pytest
import torch

from common.errors import ConfigError
from pytorch.losses import LOSSES, MarginScheduler, build_loss

torch.set_num_threads(1)


def unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle)]


def make(cfg: dict, centre_angles: list[float]) -> torch.nn.Module:
    n = len(centre_angles)
    loss = build_loss(cfg, embed_dim=2, num_classes=n // cfg.get("sub_centers", 1))
    with torch.no_grad():
        # Scaled rows: the loss must normalise the centres itself.
        loss.weight.copy_(torch.tensor([unit(a) for a in centre_angles]) * 3.0)
    return loss


def run(loss, emb_angle: float, label: int = 0):
    emb = torch.tensor([unit(emb_angle)]) * 5.0      # and the embedding
    return loss(emb, torch.tensor([label]))


def ce(logits: list[float], label: int) -> float:
    return -logits[label] + math.log(sum(math.exp(v) for v in logits))


def test_aam_target_gets_cos_theta_plus_m():
    loss = make({"name": "aam_softmax", "margin": 0.2, "scale": 10.0}, [0.0, 1.5, 3.0])
    value, logits = run(loss, 0.5)                        # θ = 0.5, 1.0, 2.5
    expect = [10 * math.cos(0.7), 10 * math.cos(1.0), 10 * math.cos(2.5)]
    assert logits[0].tolist() == pytest.approx(expect, abs=1e-5)
    assert value.item() == pytest.approx(ce(expect, 0), abs=1e-5)


def test_aam_beyond_pi_and_easy_margin():
    centres = [0.0, 1.0]
    hard = make({"name": "aam_softmax", "margin": 0.2, "scale": 10.0}, centres)
    easy = make({"name": "aam_softmax", "margin": 0.2, "scale": 10.0, "easy_margin": True}, centres)
    # θ_y = 2.0: θ + m < π, so the hard margin applies; easy margin leaves θ > π/2 alone.
    assert run(hard, 2.0)[1][0, 0].item() == pytest.approx(10 * math.cos(2.2), abs=1e-5)
    assert run(easy, 2.0)[1][0, 0].item() == pytest.approx(10 * math.cos(2.0), abs=1e-5)
    # θ_y = 3.0: θ + m > π, cos(θ + m) would rise again; the default (continuous) fallback uses
    # cos θ − (1 − cos m) instead (test_losses_conventions covers both fallbacks).
    assert run(hard, 3.0)[1][0, 0].item() == pytest.approx(10 * (math.cos(3.0) - (1 - math.cos(0.2))),
                                                           abs=1e-5)
    assert run(easy, 3.0)[1][0, 0].item() == pytest.approx(10 * math.cos(3.0), abs=1e-5)
    # θ_y = 0.5 < π/2: easy margin applies the margin like the hard one.
    assert run(easy, 0.5)[1][0, 0].item() == pytest.approx(10 * math.cos(0.7), abs=1e-5)


def test_am_softmax_subtracts_margin():
    loss = make({"name": "am_softmax", "margin": 0.3, "scale": 20.0}, [0.0, 1.5, 3.0])
    value, logits = run(loss, 1.0, label=1)               # θ = 1.0, 0.5, 2.0
    expect = [20 * math.cos(1.0), 20 * (math.cos(0.5) - 0.3), 20 * math.cos(2.0)]
    assert logits[0].tolist() == pytest.approx(expect, abs=1e-5)
    assert value.item() == pytest.approx(ce(expect, 1), abs=1e-5)


def test_subcenter_takes_max_over_centres():
    # class 0: centres at 2.5 and 0.2; class 1: centres at 1.4 and -1.0
    loss = make({"name": "subcenter_aam", "sub_centers": 2, "margin": 0.1, "scale": 8.0},
                [2.5, 0.2, 1.4, -1.0])
    _, logits = run(loss, 0.6)                            # class 0 best θ = 0.4, class 1 best θ = 0.8
    assert logits[0].tolist() == pytest.approx([8 * math.cos(0.5), 8 * math.cos(0.8)], abs=1e-5)
    assert loss.weight.shape == (4, 2)


def test_intertopk_penalises_only_topk_nontargets():
    cfg = {"name": "intertopk_aam", "margin": 0.2, "scale": 10.0, "top_k": 2, "topk_margin": 0.1}
    loss = make(cfg, [0.0, 0.8, -1.2, 2.0, 3.0])          # non-target θ = 0.8, 1.2, 2.0, 3.0
    _, logits = run(loss, 0.0)
    expect = [10 * math.cos(0.2), 10 * math.cos(0.7), 10 * math.cos(1.1), 10 * math.cos(2.0),
              10 * math.cos(3.0)]
    assert logits[0].tolist() == pytest.approx(expect, abs=1e-5)
    # With the margin warming up (half of it), m' is scaled by the same ratio.
    loss.set_margin(0.1)
    _, logits = run(loss, 0.0)
    assert logits[0, 1].item() == pytest.approx(10 * math.cos(0.75), abs=1e-5)
    assert logits[0, 3].item() == pytest.approx(10 * math.cos(2.0), abs=1e-5)


def test_softmax_and_set_margin():
    loss = build_loss({"name": "softmax"}, embed_dim=4, num_classes=3)
    value, logits = loss(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    assert logits.shape == (5, 3) and value.ndim == 0
    loss.set_margin(0.3)   # accepted, no effect
    aam = make({"name": "aam_softmax", "margin": 0.2, "scale": 10.0}, [0.0, 1.5])
    aam.set_margin(0.0)
    assert run(aam, 0.5)[1][0, 0].item() == pytest.approx(10 * math.cos(0.5), abs=1e-5)


def test_gradients_finite_when_aligned_with_centre():
    loss = make({"name": "aam_softmax", "margin": 0.2, "scale": 32.0}, [0.0, 1.0])
    emb = torch.tensor([unit(0.0)], requires_grad=True)
    value, _ = loss(emb, torch.tensor([0]))
    value.backward()
    assert torch.isfinite(emb.grad).all() and torch.isfinite(loss.weight.grad).all()


def test_registry_and_bad_keys():
    assert {"softmax", "am_softmax", "aam_softmax", "subcenter_aam", "intertopk_aam"} <= set(LOSSES.names())
    with pytest.raises(ConfigError, match="unknown key 'margn'"):
        build_loss({"name": "aam_softmax", "margn": 0.2}, 4, 3)
    with pytest.raises(ConfigError, match="set by the program"):
        build_loss({"name": "aam_softmax", "num_classes": 3}, 4, 3)
    with pytest.raises(ValueError, match="top_k"):
        build_loss({"name": "intertopk_aam"}, 4, 3)       # k = 5 needs more than 5 classes


def test_margin_scheduler_values():
    lin = MarginScheduler(final=0.2, start_epoch=1, end_epoch=3, initial=0.0, type="linear")
    assert [lin(p) for p in (0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 7.0)] == pytest.approx(
        [0.0, 0.0, 0.0, 0.1, 0.15, 0.2, 0.2])
    exp = MarginScheduler(final=0.2, start_epoch=1, end_epoch=3, initial=0.0, type="exp")
    # p = 0.5: (1 - 1e-3 ** 0.5) / (1 - 1e-3) = 0.9693466
    assert exp(2.0) == pytest.approx(0.2 * 0.9693466, abs=1e-7)
    assert exp(1.0) == 0.0 and exp(3.0) == pytest.approx(0.2)
    up = MarginScheduler(final=0.5, start_epoch=0, end_epoch=2, initial=0.1, type="linear")
    assert up(1.0) == pytest.approx(0.3)
