"""WeSpeaker's MQMHASTP form (pooling `mqmha_wespeaker`): parameter names and shapes of the
reference module, output equal to its formula computed by hand, TorchScript export in a model."""
import pytest
import torch

from pytorch.export import check_parity, torchscript_bytes
from pytorch.models import build_model, build_pooling

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")


def reference(pool, x, heads, queries, layers, one_pass=True):
    """WeSpeaker's formula, written out: for each query q and head h, its own MLP
    s = W_L(... tanh(W_1 x_h + b_1) ...) + b_L on the head's channels x_h [B, d, T];
    a = softmax_T(s); mean = sum_t a x_h; std = sqrt(max(sum_t a x_h² − mean², 1e-7));
    output [q][h][mean, std]."""
    params = dict(pool.named_parameters())
    d = x.shape[1] // heads
    out = []
    for q in range(queries):
        for h in range(heads):
            xh = x[:, h * d:(h + 1) * d]                              # [B, d, T]
            s = xh
            for i in range(layers):
                w = params[f"n_query.{q}.heads_att_trans.{h}.att_{i}.weight"][:, :, 0]
                b = params[f"n_query.{q}.heads_att_trans.{h}.att_{i}.bias"]
                s = torch.einsum("oi,bit->bot", w, s) + b[None, :, None]
                if i < layers - 1:
                    s = torch.tanh(s)
            a = torch.exp(s - s.amax(dim=-1, keepdim=True))
            a = a / a.sum(dim=-1, keepdim=True)
            mean = (a * xh).sum(dim=-1)
            if one_pass:
                var = (a * xh * xh).sum(dim=-1) - mean ** 2
            else:
                var = (a * (xh - mean[..., None]) ** 2).sum(dim=-1)
            out += [mean, torch.sqrt(var.clamp(min=1e-7))]
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("heads,queries,layers,vector", [(8, 2, 2, True), (4, 3, 1, False), (2, 2, 3, True)])
def test_matches_the_formula_on_random_weights(heads, queries, layers, vector):
    torch.manual_seed(0)
    cfg = {"name": "mqmha_wespeaker", "heads": heads, "queries": queries, "layers": layers,
           "vector": vector, "hidden": 16}
    # float64: peaked attention leaves tiny variances, where float32 one-pass rounding is ~1e-4.
    x = torch.randn(3, 64, 37, dtype=torch.float64) * 2.0 + 1.0
    one_pass = build_pooling({**cfg, "std": {"two_pass": False}}, 64).double()
    with torch.no_grad():
        for p in one_pass.parameters():   # far from init, so the attention is far from uniform
            p.normal_(0.0, 0.5)
        ref = reference(one_pass, x, heads, queries, layers)
        assert torch.allclose(one_pass(x), ref, rtol=0, atol=1e-10)
        two_pass = build_pooling(cfg, 64).double()
        two_pass.load_state_dict(one_pass.state_dict())
        ref2 = reference(one_pass, x, heads, queries, layers, one_pass=False)
        assert torch.allclose(two_pass(x), ref2, rtol=0, atol=1e-10)
    assert one_pass.out_dim == 2 * 64 * queries


def test_parameter_names_and_shapes_follow_wespeaker():
    # WeSpeaker MQMHASTP(in_dim=2560) defaults: 2 queries x 8 heads, Conv1d(320, 64) -> tanh ->
    # Conv1d(64, 320) (d_s = 2 > 1 -> vector attention): 2 * 8 * (320*64 + 64 + 64*320 + 320).
    pool = build_pooling("mqmha_wespeaker", 2560)
    shapes = {k: tuple(v.shape) for k, v in pool.state_dict().items()}
    assert len(shapes) == 2 * 8 * 4
    assert shapes["n_query.1.heads_att_trans.7.att_0.weight"] == (64, 320, 1)
    assert shapes["n_query.1.heads_att_trans.7.att_1.weight"] == (320, 64, 1)
    assert shapes["n_query.0.heads_att_trans.0.att_1.bias"] == (320,)
    assert sum(v.numel() for v in pool.parameters()) == 2 * 8 * (320 * 64 + 64 + 64 * 320 + 320)
    scalar = build_pooling({"name": "mqmha_wespeaker", "vector": False, "layers": 1}, 2560)
    assert tuple(scalar.state_dict()["n_query.0.heads_att_trans.0.att_0.weight"].shape) == (1, 320, 1)


def test_queries_do_not_share_weights_and_order_is_query_major():
    pool = build_pooling({"name": "mqmha_wespeaker", "heads": 2, "queries": 2, "hidden": 4}, 4)
    x = torch.randn(1, 4, 9)
    with torch.no_grad():
        y = pool(x).view(2, 2, 4)            # [query, head, (mean d=2, std d=2)]
        for p in pool.n_query[1].parameters():
            p.add_(1.0)
        y2 = pool(x).view(2, 2, 4)
    assert torch.equal(y[0], y2[0]) and not torch.allclose(y[1], y2[1])


def test_bad_options():
    with pytest.raises(ValueError, match="not divisible"):
        build_pooling({"name": "mqmha_wespeaker", "heads": 3}, 8)
    with pytest.raises(ValueError, match="layers"):
        build_pooling({"name": "mqmha_wespeaker", "heads": 2, "layers": 0}, 8)


def test_torchscript_export_of_a_model_using_it():
    torch.manual_seed(0)
    model = build_model({"name": "tdnn", "feat_dim": 16, "hidden": 32, "stats_dim": 48, "embed_dim": 24,
                         "pooling": {"name": "mqmha_wespeaker", "heads": 4, "hidden": 8}}).eval()
    assert check_parity(model, torchscript_bytes(model), "torchscript") <= 1e-4
