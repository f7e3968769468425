"""Every model family: output [B, embed_dim] for several lengths, and every pooling in every family."""
import pytest
import torch

from common.errors import ConfigError
from pytorch.models import MODELS, build_model

torch.set_num_threads(1)

SMALL = {
    "resnet34se": dict(feat_dim=16, base_channels=4, embed_dim=24),
    "resnet50": dict(feat_dim=16, base_channels=4, embed_dim=24),
    "resnet": dict(feat_dim=20, depth=18, base_channels=4, se=True, embed_dim=24, two_emb_layer=True),
    "ecapa_tdnn": dict(feat_dim=16, channels=32, mfa_channels=96, se_bottleneck=8, scale=4, embed_dim=24),
    "ecapa_tdnn_c512": dict(feat_dim=16, mfa_channels=48, embed_dim=24),
    "se_res2net50": dict(feat_dim=16, base_channels=8, embed_dim=24),
    "res2next50": dict(feat_dim=16, base_channels=16, embed_dim=24),
    "tdnn": dict(feat_dim=16, hidden=32, stats_dim=48, embed_dim=24),
}
POOLINGS = [{"name": "tap"}, {"name": "tsp"}, {"name": "asp", "hidden": 8},
            {"name": "asp", "hidden": 8, "global_context": True}, {"name": "mqmha", "heads": 2, "queries": 2}]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_output_shape_for_several_lengths(name):
    model = build_model({"name": name, **SMALL[name]}).eval()
    assert model.embed_dim == 24
    with torch.no_grad():
        for b, t in [(1, 40), (3, 57), (2, 101)]:
            y = model(torch.randn(b, t, SMALL[name]["feat_dim"]))
            assert y.shape == (b, 24)
            assert torch.isfinite(y).all()


@pytest.mark.parametrize("pooling", POOLINGS, ids=lambda p: "-".join(str(v) for v in p.values()))
@pytest.mark.parametrize("name", ["resnet34se", "ecapa_tdnn", "tdnn", "res2next50"])
def test_every_pooling_in_every_family(name, pooling):
    model = build_model({"name": name, **SMALL[name], "pooling": pooling}).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 45, SMALL[name]["feat_dim"])).shape == (2, 24)


def test_training_mode_backward():
    model = build_model({"name": "ecapa_tdnn", **SMALL["ecapa_tdnn"]}).train()
    model(torch.randn(4, 30, 16)).pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_all_registered_names_build_by_name():
    assert {"resnet34se", "resnet221", "resnet293", "ecapa_tdnn_c1024", "se_res2net50", "res2next50",
            "tdnn", "xvector"} <= set(MODELS.names())


@pytest.mark.parametrize("cfg, msg", [
    ({"name": "ecapa_tdnn", "feat_dim": 80, "chanels": 512}, "unknown key 'chanels'"),
    ({"name": "resnet34", "feat_dim": 80, "depth": 50}, "unknown key 'depth'"),   # fixed by the preset
    ({"name": "resnet", "feat_dim": 80, "depth": 35}, "not one of"),
    ({"name": "ecapa", "feat_dim": 80}, "unknown model 'ecapa'"),
    ({"name": "ecapa_tdnn"}, "'feat_dim' is missing"),
    ({"name": "tdnn", "feat_dim": 80, "pooling": {"name": "asp", "hiden": 3}},
     "model.pooling (asp): unknown key 'hiden'"),
    ({"name": "tdnn", "feat_dim": 80, "pooling": {"name": "xx"}}, "unknown pooling 'xx'"),
])
def test_bad_config_is_a_clear_error(cfg, msg):
    with pytest.raises((ConfigError, ValueError), match=msg.replace("(", r"\(").replace(")", r"\)")):
        build_model(cfg)


def test_tdnn_rejects_too_short_input():
    model = build_model({"name": "tdnn", **SMALL["tdnn"]}).eval()
    with pytest.raises(ValueError, match="too short"):
        model(torch.randn(1, 14, 16))
