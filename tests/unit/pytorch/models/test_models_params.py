"""Parameter counts against the published figures (80-dim fbank input)."""
import pytest
import torch

from pytorch.models import build_model
from pytorch.models.macs import count_params

torch.set_num_threads(1)

# (config, exact count computed by hand from the layer shapes, published count, source)
CASES = [
    ({"name": "ecapa_tdnn", "channels": 512}, 6_190_720, 6.19e6, "WeSpeaker ECAPA_TDNN_GLOB_c512"),
    ({"name": "ecapa_tdnn", "channels": 1024}, 14_657_088, 14.65e6, "WeSpeaker ECAPA_TDNN_GLOB_c1024"),
    ({"name": "resnet34"}, 6_634_336, 6.63e6, "WeSpeaker ResNet34, TSTP, 256-d"),
    ({"name": "resnet293"}, 28_626_016, 28.62e6, "WeSpeaker ResNet293"),
]


@pytest.mark.parametrize("cfg, exact, published, source", CASES, ids=[c[3] for c in CASES])
def test_param_count_matches_published(cfg, exact, published, source):
    n = count_params(build_model({**cfg, "feat_dim": 80}))
    assert n == exact
    assert abs(n - published) / published < 0.01, source


def test_ecapa_hand_count_c512():
    # stem 80*512*5+512 + BN 1024; per block: two 1x1 (512^2+512+1024), 7 Res2 convs (64*64*3+64+128),
    # SE (512*128+128+128*512+512); MFA 1536^2+1536; ASP (4608*128+128)+(128*1536+1536);
    # BN 2*3072; FC 3072*192+192
    block = 2 * (512 * 512 + 512 + 1024) + 7 * (64 * 64 * 3 + 64 + 128) + (512 * 128 + 128 + 128 * 512 + 512)
    total = (80 * 512 * 5 + 512 + 1024) + 3 * block + (1536 * 1536 + 1536) \
        + (4608 * 128 + 128) + (128 * 1536 + 1536) + 2 * 3072 + (3072 * 192 + 192)
    assert total == 6_190_720


def test_se_resnet34_adds_only_se_layers():
    plain = count_params(build_model({"name": "resnet34", "feat_dim": 80}))
    se = count_params(build_model({"name": "resnet34se", "feat_dim": 80}))
    # SE with reduction 8 on 3x32, 4x64, 6x128, 3x256 channel blocks: 2 linears each (C*C/8 + C/8 + C/8*C + C)
    extra = sum(n * (2 * c * (c // 8) + c // 8 + c) for n, c in [(3, 32), (4, 64), (6, 128), (3, 256)])
    assert se - plain == extra
