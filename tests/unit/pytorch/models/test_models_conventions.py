"""The conventions that reproduce other toolkits' models (issue 13), against values computed by hand
from each reference's formula: the statistics-pooling std, the SE bottleneck rule, the x-vector head
and its extraction point."""
import math

import pytest
import torch

from common.errors import ConfigError
from pytorch.inference import prepare_for_inference
from pytorch.models import build_model, build_pooling

torch.set_num_threads(1)

# channel 0 = [1, 2, 3, 4]: mean 2.5, squared deviations sum 5; channel 1 constant (variance 0)
X = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]]])


@pytest.mark.parametrize("std, sd0, sd1", [
    (None, math.sqrt(5 / 4), math.sqrt(1e-7)),                                    # ours: population, clamp 1e-7
    ({"unbiased": True, "floor_mode": "add"}, math.sqrt(5 / 3 + 1e-7), math.sqrt(1e-7)),   # WeSpeaker torch.var + 1e-7
    ({"floor": 1e-10}, math.sqrt(5 / 4), math.sqrt(1e-10)),                      # ASV-Subtools, floor 1e-10
])
def test_tsp_std_conventions_by_hand(std, sd0, sd1):
    y = build_pooling({"name": "tsp", **({"std": std} if std else {})}, 2)(X).double()
    assert torch.allclose(y, torch.tensor([[2.5, 2.0, sd0, sd1]], dtype=torch.float64), rtol=1e-6, atol=0)


def test_two_pass_is_exact_where_one_pass_cancels():
    # mean 1e4, spread 1e-1: E[x^2] - mean^2 loses the variance in float32; E[(x - mean)^2] keeps it
    x = (1e4 + 0.1 * torch.tensor([-1.0, 1.0, -1.0, 1.0])).view(1, 1, 4)
    two = build_pooling("tsp", 1)(x)[0, 1].item()
    one = build_pooling({"name": "tsp", "std": {"two_pass": False}}, 1)(x)[0, 1].item()
    true = x.double().std(-1, unbiased=False).item()    # of the float32 values, in float64
    assert abs(two - true) < 1e-3 and abs(one - true) > 1e-2


def test_asp_conventions_weighted_one_pass_and_context_unbiased():
    """WeSpeaker ASTP (global context): the context std is sqrt(torch.var + 1e-7), the weighted std
    sqrt(clamp(sum(w x^2) - mean^2, 1e-7))."""
    asp = build_pooling({"name": "asp", "hidden": 5, "global_context": True, "std": {"two_pass": False},
                         "context_std": {"unbiased": True, "floor_mode": "add"}}, 3)
    x = torch.randn(2, 3, 13)
    mu = x.mean(-1, keepdim=True).expand(-1, -1, 13)
    sd = torch.sqrt(torch.var(x, dim=-1, keepdim=True) + 1e-7).expand(-1, -1, 13)
    w = torch.softmax(asp.attn2(torch.tanh(asp.attn1(torch.cat([x, mu, sd], 1)))), dim=-1)
    m = (x * w).sum(-1)
    s = ((x * x * w).sum(-1) - m * m).clamp(min=1e-7).sqrt()
    assert torch.allclose(asp(x), torch.cat([m, s], 1), atol=1e-6)


def test_std_options_are_checked():
    with pytest.raises(ConfigError, match="floor_mode"):
        build_pooling({"name": "tsp", "std": {"floor_mode": "max"}}, 2)
    with pytest.raises(ConfigError, match="unknown|not a valid|bogus"):
        build_pooling({"name": "tsp", "std": {"bogus": 1}}, 2)
    with pytest.raises(ConfigError, match="unbiased"):
        build_pooling({"name": "asp", "std": {"unbiased": True}}, 2)


def _se_hidden(model):
    return [blk.se.fc1.out_features for stage in model.stages for blk in stage]


def test_se_bottleneck_rule():
    ours = build_model({"name": "resnet34se", "feat_dim": 80, "se_reduction": 16})
    subtools = build_model({"name": "resnet34se", "feat_dim": 80, "se_reduction": 16, "se_min_hidden": 1})
    per_stage = [3, 4, 6, 3]
    # channels // 16 in every stage (32, 64, 128, 256 channels), and today's floor of 4 on stage 1
    assert _se_hidden(subtools) == [h for h, n in zip([2, 4, 8, 16], per_stage) for _ in range(n)]
    assert _se_hidden(ours) == [h for h, n in zip([4, 4, 8, 16], per_stage) for _ in range(n)]
    with pytest.raises(ValueError, match="empty bottleneck"):
        build_model({"name": "resnet10se", "feat_dim": 16, "base_channels": 4, "se_reduction": 16, "se_min_hidden": 0})


def _xvector(embed_point="near"):
    torch.manual_seed(0)
    m = build_model({"name": "resnet", "feat_dim": 81, "depth": 10, "base_channels": 4, "embed_dim": 6,
                     "head": "xvector", "embed_point": embed_point})
    with torch.no_grad():
        m.head_bn.running_mean.uniform_(0.0, 1.0)
        m.head_bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


def test_xvector_head_near_and_far_by_hand():
    near, far = _xvector("near"), _xvector("far")
    x = torch.randn(2, 50, 81)
    with torch.no_grad():
        a = near.seg1(near.pool(near.stages(near.stem(x.transpose(1, 2).unsqueeze(1))).flatten(1, 2)))
        bn = near.head_bn
        want_near = (torch.relu(a) - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
        assert torch.allclose(near(x), want_near, atol=1e-5)
        assert torch.allclose(far(x), a, atol=1e-6)                  # the Linear's output
        # training returns `near` whatever the point: BN in train mode centres each unit over the batch
        assert torch.allclose(far.train()(x).mean(0), torch.zeros(6), atol=1e-5)
    assert sum(p.numel() for p in near.head_bn.parameters()) == 0    # BatchNorm1d(affine=False)


@pytest.mark.parametrize("point", ["near", "far"])
def test_xvector_head_in_extraction_mode_and_torchscript(point):
    m = _xvector(point)
    x = torch.randn(2, 40, 81)
    with torch.no_grad():
        ref = m(x)
        assert torch.allclose(prepare_for_inference(m)(x), ref, atol=1e-5)
        assert torch.allclose(torch.jit.script(m)(x), ref, atol=1e-6)


def test_head_options_are_checked():
    with pytest.raises(ValueError, match="far needs head: xvector"):
        build_model({"name": "resnet34", "feat_dim": 80, "embed_point": "far"})
    with pytest.raises(ValueError, match="pick one"):
        build_model({"name": "resnet34", "feat_dim": 80, "head": "xvector", "two_emb_layer": True})
