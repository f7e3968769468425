"""2-D SE-Res2Net-50 and Res2NeXt-50 speaker embedders (Gao et al. 2019), on the ResNet trunk.

Speaker-verification adaptation (as for ResNet-34 in WeSpeaker): 3x3 stride-1 stem, stages of
`base_channels` x (1, 2, 4, 8) planes with strides (1, 2, 2, 2), bottleneck expansion 4, 80-dim
fbank in, TSP and a 256-d embedding. Each bottleneck splits its 1x1 output into `scale` groups of
`width = floor(planes * base_width / 64) * cardinality` channels; group i > 0 is convolved after
adding the previous group's output (hierarchical residuals), the last group is passed through.
Res2NeXt uses grouped 3x3 convs (cardinality 8, base_width 4); Res2Net 26w x 4s uses base_width 26.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pytorch.models.masking import NoSE, masked, strided_lengths, time_mask
from pytorch.models.registry import MODELS, preset
from pytorch.models.resnet import ResNetTrunk
from pytorch.models.se import SE2d, conv_bn2d

LAYERS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class Res2Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, base_width: int = 26, scale: int = 4,
                 cardinality: int = 1, se: bool = False, se_reduction: int = 8) -> None:
        super().__init__()
        width = (planes * base_width // 64) * cardinality
        if width == 0:
            raise ValueError(f"res2net: planes={planes} x base_width={base_width}/64 gives 0 channels")
        cout = planes * self.expansion
        self.width, self.scale = width, scale
        # The first block of a stage changes the resolution: its groups are independent and the
        # pass-through group is average-pooled (Res2Net "stage" blocks).
        self.first = stride != 1 or cin != cout
        self.conv1 = nn.Sequential(conv_bn2d(cin, width * scale, 1), nn.ReLU(inplace=True))
        self.convs = nn.ModuleList(
            nn.Sequential(conv_bn2d(width, width, 3, stride, groups=cardinality), nn.ReLU(inplace=True))
            for _ in range(scale - 1))
        self.pool = nn.AvgPool2d(3, stride, 1) if self.first and stride != 1 else nn.Identity()
        self.conv3 = conv_bn2d(width * scale, cout, 1)
        self.se = SE2d(cout, se_reduction) if se else NoSE()
        self.shortcut = conv_bn2d(cin, cout, 1, stride) if self.first else nn.Identity()
        self.stride = stride

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """As resnet.BasicBlock.forward: with `lengths`, the 3x3 convs' and the pool's inputs are
        zero on the padding (a non-first block's groups keep the resolution, so one mask serves)."""
        h = self.conv1(x)
        mask = None if lengths is None else time_mask(lengths, h)
        parts = torch.split(masked(h, mask), self.width, dim=1)
        outs = []
        prev = parts[0]
        for i, conv in enumerate(self.convs):
            prev = conv(parts[i] if (i == 0 or self.first) else prev + parts[i])
            if not self.first:       # only then is prev an input of the next 3x3 conv
                prev = masked(prev, mask)
            outs.append(prev)
        outs.append(self.pool(parts[-1]))
        h = self.conv3(torch.cat(outs, dim=1))
        if lengths is None:
            return torch.relu(self.se(h) + self.shortcut(x))
        out_mask = time_mask(strided_lengths(lengths, self.stride), h)
        return torch.relu(self.se(h, out_mask) + self.shortcut(x)) * out_mask


class Res2Net(ResNetTrunk):
    """Res2Net-50/101 (scale x width, optional cardinality and SE) on the speaker ResNet trunk."""

    def __init__(self, feat_dim: int, depth: int = 50, base_channels: int = 32, base_width: int = 26,
                 scale: int = 4, cardinality: int = 1, se: bool = False, se_reduction: int = 8,
                 embed_dim: int = 256, pooling: Mapping[str, Any] | str | None = None,
                 two_emb_layer: bool = False) -> None:
        if depth not in LAYERS:
            raise ValueError(f"model.depth: {depth} is not one of {sorted(LAYERS)}")
        if scale < 2:
            raise ValueError(f"model.scale: {scale} must be >= 2")

        def make_block(cin: int, planes: int, stride: int) -> nn.Module:
            return Res2Bottleneck(cin, planes, stride, base_width, scale, cardinality, se, se_reduction)

        super().__init__(feat_dim, make_block, Res2Bottleneck.expansion, LAYERS[depth], base_channels,
                         embed_dim, pooling, two_emb_layer)


MODELS.add("res2net", Res2Net)
MODELS.add("se_res2net50", preset(Res2Net, depth=50, se=True))
MODELS.add("res2next50", preset(Res2Net, depth=50, cardinality=8, base_width=4))
