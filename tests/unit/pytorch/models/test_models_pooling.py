"""Pooling layers on hand-made inputs."""
import pytest
import torch

from pytorch.models import POOLING, build_pooling

torch.set_num_threads(1)

# One utterance, 2 channels, 4 frames: channel 0 = [1, 2, 3, 4], channel 1 = [2, 2, 2, 2].
X = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]]])
# mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25; constant channel -> floor 1e-7
STD0 = 1.25 ** 0.5


def test_tap_is_the_mean():
    assert torch.allclose(build_pooling("tap", 2)(X), torch.tensor([[2.5, 2.0]]))


def test_tsp_mean_and_std_by_hand():
    y = build_pooling({"name": "tsp"}, 2)(X)
    assert torch.allclose(y, torch.tensor([[2.5, 2.0, STD0, 1e-7 ** 0.5]]), atol=1e-6)


@pytest.mark.parametrize("global_context", [False, True])
def test_asp_with_uniform_attention_equals_tsp(global_context):
    asp = build_pooling({"name": "asp", "hidden": 3, "global_context": global_context}, 2)
    with torch.no_grad():   # zero scores -> softmax is 1/T everywhere
        asp.attn2.weight.zero_()
        asp.attn2.bias.zero_()
    x = torch.randn(3, 2, 11)
    assert torch.allclose(asp(x), build_pooling("tsp", 2)(x), atol=1e-5)


def test_asp_attention_picks_the_frame_it_attends():
    asp = build_pooling({"name": "asp", "hidden": 1}, 2)
    with torch.no_grad():   # score = 100 * tanh(x[channel 0]): nearly all weight on the largest frame
        asp.attn1.weight.zero_()
        asp.attn1.weight[0, 0, 0] = 10.0
        asp.attn1.bias.zero_()
        asp.attn2.weight.fill_(100.0)
        asp.attn2.bias.zero_()
    x = torch.tensor([[[0.0, 0.0, 1.0, 0.0], [5.0, 6.0, 7.0, 8.0]]])
    y = asp(x)
    assert torch.allclose(y[0, :2], torch.tensor([1.0, 7.0]), atol=1e-3)


def test_mqmha_uniform_is_tsp_per_head_and_query():
    pool = build_pooling({"name": "mqmha", "heads": 2, "queries": 3}, 4)
    with torch.no_grad():
        pool.score.weight.zero_()
        pool.score.bias.zero_()
    x = torch.randn(2, 4, 9)
    y = pool(x).view(2, 2, 3, 4)   # [B, heads, queries, (mean d=2, std d=2)]
    tsp = build_pooling("tsp", 4)(x)
    mean, std = tsp[:, :4].view(2, 2, 2), tsp[:, 4:].view(2, 2, 2)
    for q in range(3):
        assert torch.allclose(y[:, :, q, :2], mean, atol=1e-5)
        assert torch.allclose(y[:, :, q, 2:], std, atol=1e-5)
    assert pool.out_dim == 4 * 3 * 2


def test_mqmha_heads_see_only_their_channels():
    pool = build_pooling({"name": "mqmha", "heads": 2, "queries": 1, "hidden": 4}, 4)
    x = torch.randn(1, 4, 7)
    x2 = x.clone()
    x2[:, 2:] += torch.randn(1, 2, 7)     # change head 1 only
    y, y2 = pool(x).view(2, 4), pool(x2).view(2, 4)
    assert torch.allclose(y[0], y2[0]) and not torch.allclose(y[1], y2[1])


def test_out_dims():
    assert {n: build_pooling(n, 8).out_dim for n in POOLING.names()} == \
        {"tap": 8, "tsp": 16, "asp": 16, "mqmha": 8 * 2 * 2, "mqmha_wespeaker": 8 * 2 * 2}


def test_mqmha_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="not divisible"):
        build_pooling({"name": "mqmha", "heads": 4}, 6)


def test_asp_global_context_equals_explicit_concatenation():
    asp = build_pooling({"name": "asp", "hidden": 5, "global_context": True}, 3)
    x = torch.randn(2, 3, 13)
    mu = x.mean(-1, keepdim=True).expand(-1, -1, 13)
    sd = x.std(-1, unbiased=False, keepdim=True).expand(-1, -1, 13)
    w = torch.softmax(asp.attn2(torch.tanh(asp.attn1(torch.cat([x, mu, sd], 1)))), dim=-1)
    m = (x * w).sum(-1)
    s = ((x * x * w).sum(-1) - m * m).sqrt()
    assert torch.allclose(asp(x), torch.cat([m, s], 1), atol=1e-5)
