"""GemmConv1d equals the layers it replaces (up to float rounding), fused ReLU -> BN included, in
both memory layouts (channel-major, and time-major as ECAPA's transposed input arrives)."""
import pytest
import torch
from torch import nn

from pytorch.gemm_conv import GemmConv1d, gemm_conv1d, gemm_eligible
from pytorch.inference import FrameCapped, prepare_for_inference
from pytorch.models import build_model
from pytorch.models.se import Conv1dReluBn

torch.set_num_threads(1)


def random_bn(bn: nn.BatchNorm1d, gen: torch.Generator) -> nn.BatchNorm1d:
    """Statistics as after training, and scales of both signs: a negative BN scale turns the
    fused ReLU's lower bound into an upper one."""
    c = bn.num_features
    bn.running_mean.copy_(torch.rand(c, generator=gen) - 0.5)
    bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(c, generator=gen))
        bn.weight[0] = 0.0
        bn.bias.copy_(torch.randn(c, generator=gen))
    return bn.eval()


@pytest.mark.parametrize("kernel,dilation,pad", [(1, 1, True), (3, 2, True), (5, 1, True), (3, 4, False),
                                                  (5, 3, False)])
def test_conv_relu_bn_fuses_exactly(kernel, dilation, pad):
    gen = torch.Generator().manual_seed(kernel * 10 + dilation)
    layer = Conv1dReluBn(6, 9, kernel, dilation, pad=pad).eval()
    random_bn(layer.bn, gen)
    fused = GemmConv1d(layer.conv, layer.bn)
    assert bool((fused.lo.squeeze(1) > -float("inf")).any()) and bool((fused.hi.squeeze(1) < float("inf")).any())
    x = torch.randn(3, 6, 41, generator=gen)
    time_major = x.transpose(1, 2).contiguous().transpose(1, 2)    # same values, channels contiguous
    with torch.inference_mode():
        ref = layer(x)
        for inp in (x, time_major):
            out = fused(inp)
            assert out.shape == ref.shape
            assert (out - ref).abs().max().item() <= 1e-5
        assert fused(time_major).stride(1) == 1 and fused(x).is_contiguous()   # the layout is kept


@pytest.mark.parametrize("kernel,dilation,padding,bias", [(1, 1, 0, True), (3, 1, 1, False), (3, 2, 0, True)])
def test_plain_conv_as_gemm(kernel, dilation, padding, bias):
    torch.manual_seed(0)
    conv = nn.Conv1d(5, 7, kernel, dilation=dilation, padding=padding, bias=bias).eval()
    x = torch.randn(2, 5, 30)
    with torch.inference_mode():
        for inp in (x, x.transpose(1, 2).contiguous().transpose(1, 2)):
            assert (GemmConv1d(conv)(inp) - conv(x)).abs().max().item() <= 1e-5


def test_only_plain_convs_are_eligible():
    assert gemm_eligible(nn.Conv1d(4, 4, 3, padding=1))
    assert not gemm_eligible(nn.Conv1d(4, 4, 3, stride=2))
    assert not gemm_eligible(nn.Conv1d(4, 4, 3, groups=2))
    assert not gemm_eligible(nn.Conv1d(4, 4, 3, padding=1, padding_mode="reflect"))
    assert not gemm_eligible(nn.Conv1d(4, 4, 3, padding="same"))
    assert not gemm_eligible(nn.Conv2d(4, 4, 1))
    with pytest.raises(ValueError, match="unsupported"):
        GemmConv1d(nn.Conv1d(4, 4, 3, stride=2))


def small_ecapa(pooling: dict) -> nn.Module:
    torch.manual_seed(0)
    model = build_model({"name": "ecapa_tdnn", "feat_dim": 12, "channels": 32, "mfa_channels": 48,
                         "se_bottleneck": 8, "scale": 4, "embed_dim": 10, "pooling": pooling}).eval()
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            random_bn(m, gen)
    return model


@pytest.mark.parametrize("pooling", [{"name": "asp", "global_context": True}, {"name": "asp"}, {"name": "tsp"}])
def test_whole_ecapa_as_gemms(pooling):
    """Every convolution of ECAPA-TDNN is replaced (stem, 3 x (1x1, Res2Net groups, 1x1), MFA, ASP's
    two), in TorchScript as in extraction mode, and the embeddings do not change."""
    model = small_ecapa(pooling)
    fast = prepare_for_inference(model)
    n_conv = sum(isinstance(m, nn.Conv1d) for m in model.modules())
    folded = prepare_for_inference(model, script=False)
    assert gemm_conv1d(folded) == n_conv >= 17
    assert not any(isinstance(m, (nn.Conv1d, nn.BatchNorm1d)) for m in folded.modules())
    x = torch.randn(3, 57, 12)
    channel_major = x.transpose(1, 2).contiguous().transpose(1, 2)   # the GEMMs then run as W @ x
    with torch.inference_mode():
        assert (fast(x) - model(x)).abs().max().item() <= 1e-5
        assert (fast(channel_major) - model(x)).abs().max().item() <= 1e-5


@pytest.mark.parametrize("cap", [1, 100, 10_000])
def test_frame_capped_sub_batches_give_the_whole_batch(cap):
    """Sub-batches (1 row, 2 rows, all) give the rows of the whole batch; with lengths each
    sub-batch is trimmed to its own longest row."""
    model = small_ecapa({"name": "asp", "global_context": True})
    capped = FrameCapped(model, cap)
    lengths = torch.tensor([50, 44, 31, 9, 50])
    x = torch.randn(5, 50, 12)
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0
    with torch.inference_mode():
        assert (capped(x) - model(x)).abs().max().item() <= 1e-5
        alone = torch.cat([model(x[i:i + 1, :n]) for i, n in enumerate(lengths.tolist())])
        assert (capped(x, lengths) - alone).abs().max().item() <= 1e-5
