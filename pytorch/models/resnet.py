"""2-D ResNet speaker embedders (Chung et al. 2020, WeSpeaker, CNSRC 2022 baseline).

Input [B, T, F] is treated as a one-channel F x T image. A 3x3 stem (stride 1) is followed by four
stages with `base_channels` x (1, 2, 4, 8) channels and strides (1, 2, 2, 2); the last map
[B, C, F/8, T/8] is flattened to [B, C*F/8, T/8], pooled over time and projected to `embed_dim`.
`resnet34se` is the CNSRC 2022 baseline shape: 32 base channels, SE in every basic block, TSP, 256-d;
egs/voxceleb/conf/resnet34se.yaml sets the options that make it ASV-Subtools' model exactly (81-dim
input, SE bottleneck channels // 16 without floor, x-vector head, variance floor 1e-10).

Heads: `linear` (one Linear, WeSpeaker) or `xvector` (Linear -> ReLU -> BatchNorm1d(affine=False), the
Kaldi / ASV-Subtools segment layer). With the x-vector head, `embed_point` picks the embedding in eval
mode: `near` (after the BatchNorm, what the loss sees; Subtools' default) or `far` (the Linear's output,
before ReLU and BatchNorm; Kaldi's x-vector point). Training always returns `near`, so `far` is an
extraction setting (a validation loss in eval mode then sees `far` too).
`two_emb_layer` adds WeSpeaker's second embedding layer (ReLU -> BatchNorm1d -> Linear after the
first); `seg_bn_affine: false` drops that BatchNorm's scale and shift, as WeSpeaker's `seg_bn_1` does.
`forward(feats, lengths)` embeds a zero-padded batch of different lengths exactly (see
pytorch.models.masking): every block takes its input's lengths and zeroes the input of its 3x3 convs.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from pytorch.models.masking import NoSE, strided_lengths, time_mask
from pytorch.models.registry import MODELS, build_pooling, preset
from pytorch.models.se import SE2d, conv_bn2d

STRIDES = (1, 2, 2, 2)
HEADS = ("linear", "xvector")


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, se: bool = False, se_reduction: int = 8,
                 se_min_hidden: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn2d(cin, planes, 3, stride), nn.ReLU(inplace=True),
                                  conv_bn2d(planes, planes, 3))
        self.se = SE2d(planes, se_reduction, se_min_hidden) if se else NoSE()
        self.shortcut = (conv_bn2d(cin, planes, 1, stride) if stride != 1 or cin != planes
                         else nn.Identity())
        self.stride = stride

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """`lengths`: the valid frames of `x`, which must then be zero on its padded frames (and
        the output is, too)."""
        if lengths is None:
            return torch.relu(self.se(self.body(x)) + self.shortcut(x))
        h = self.body[1](self.body[0](x))
        mask = time_mask(strided_lengths(lengths, self.stride), h)
        h = self.body[2](h * mask)
        return torch.relu(self.se(h, mask) + self.shortcut(x)) * mask


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, se: bool = False, se_reduction: int = 8,
                 se_min_hidden: int = 4) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.body = nn.Sequential(conv_bn2d(cin, planes, 1), nn.ReLU(inplace=True),
                                  conv_bn2d(planes, planes, 3, stride), nn.ReLU(inplace=True),
                                  conv_bn2d(planes, cout, 1))
        self.se = SE2d(cout, se_reduction, se_min_hidden) if se else NoSE()
        self.shortcut = conv_bn2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.stride = stride

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """As BasicBlock.forward."""
        if lengths is None:
            return torch.relu(self.se(self.body(x)) + self.shortcut(x))
        h = self.body[1](self.body[0](x))
        h = self.body[3](self.body[2](h * time_mask(lengths, h)))
        mask = time_mask(strided_lengths(lengths, self.stride), h)
        return torch.relu(self.se(self.body[4](h), mask) + self.shortcut(x)) * mask


# depth -> (block, blocks per stage); 10 is a small variant for quick CPU runs (egs/mini); 221/293 from
# the VoxSRC 2021/2022 deep ResNets (WeSpeaker).
DEPTHS: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    10: (BasicBlock, (1, 1, 1, 1)), 18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)), 152: (Bottleneck, (3, 8, 36, 3)),
    221: (Bottleneck, (6, 16, 48, 3)), 293: (Bottleneck, (10, 20, 64, 3)),
}


def _freq_after(feat_dim: int, strides: tuple[int, ...]) -> int:
    for s in strides:
        feat_dim = (feat_dim - 1) // s + 1   # 3x3 conv, padding 1
    return feat_dim


class ResNetTrunk(nn.Module):
    """Stem + 4 stages + pooling + embedding layer(s), for any block builder
    `make_block(cin, planes, stride) -> nn.Module` whose output has planes * expansion channels
    and whose forward(x, lengths) follows BasicBlock.forward."""
    ACCEPTS_LENGTHS = True                     # forward(feats, lengths): pytorch.models.masking

    def __init__(self, feat_dim: int, make_block: Callable[[int, int, int], nn.Module], expansion: int,
                 layers: tuple[int, ...], base_channels: int, embed_dim: int,
                 pooling: Mapping[str, Any] | str | None, two_emb_layer: bool, head: str = "linear",
                 embed_point: str = "near", seg_bn_affine: bool = True) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"model.head: {head!r} is not one of {', '.join(HEADS)}")
        if embed_point not in ("near", "far"):
            raise ValueError(f"model.embed_point: {embed_point!r} is not near or far")
        if embed_point == "far" and head != "xvector":
            raise ValueError("model.embed_point: far needs head: xvector (the point before its BatchNorm)")
        if head == "xvector" and two_emb_layer:
            raise ValueError("model: head: xvector and two_emb_layer: true are two different heads; pick one")
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.stem = nn.Sequential(conv_bn2d(1, base_channels, 3), nn.ReLU(inplace=True))
        stages, cin = [], base_channels
        for i, (n, stride) in enumerate(zip(layers, STRIDES)):
            planes = base_channels * 2 ** i
            blocks = []
            for j in range(n):
                blocks.append(make_block(cin, planes, stride if j == 0 else 1))
                cin = planes * expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        stats_dim = cin * _freq_after(feat_dim, STRIDES)
        self.pool = build_pooling(pooling, stats_dim, default="tsp")
        self.seg1 = nn.Linear(self.pool.out_dim, embed_dim)
        self.xvector_head, self.near = head == "xvector", embed_point == "near"
        self.head_bn = nn.BatchNorm1d(embed_dim, affine=False) if self.xvector_head else nn.Identity()
        self.seg2 = (nn.Sequential(nn.ReLU(), nn.BatchNorm1d(embed_dim, affine=seg_bn_affine),
                                   nn.Linear(embed_dim, embed_dim))
                     if two_emb_layer else nn.Identity())

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """feats [B, T, F] -> [B, embed_dim]; `lengths` [B] (int64): the valid frames of each row
        of a zero-padded batch, for the embedding each row gets alone."""
        x = feats.transpose(1, 2).unsqueeze(1)
        if lengths is None:
            x = self.stages(self.stem(x))   # [B, C, F', T']
            x = self.seg1(self.pool(x.flatten(1, 2)))
        else:
            x = self.stem(x * time_mask(lengths, x))
            x = x * time_mask(lengths, x)
            for stage in self.stages:
                for block in stage:
                    x = block(x, lengths)
                    lengths = strided_lengths(lengths, block.stride)
            x = x.flatten(1, 2)
            x = self.seg1(self.pool(x, time_mask(lengths, x)))
        if self.xvector_head:
            near = self.head_bn(torch.relu(x))
            if self.training or self.near:
                x = near
        return self.seg2(x)


class ResNet(ResNetTrunk):
    """ResNet-18/34 (basic blocks) or 50/101/152/221/293 (bottlenecks), optionally with SE."""

    def __init__(self, feat_dim: int, depth: int = 34, base_channels: int = 32, se: bool = False,
                 se_reduction: int = 8, embed_dim: int = 256, pooling: Mapping[str, Any] | str | None = None,
                 two_emb_layer: bool = False, se_min_hidden: int = 4, head: str = "linear",
                 embed_point: str = "near", seg_bn_affine: bool = True) -> None:
        if depth not in DEPTHS:
            raise ValueError(f"model.depth: {depth} is not one of {sorted(DEPTHS)}")
        block, layers = DEPTHS[depth]

        def make_block(cin: int, planes: int, stride: int) -> nn.Module:
            return block(cin, planes, stride, se=se, se_reduction=se_reduction, se_min_hidden=se_min_hidden)

        super().__init__(feat_dim, make_block, block.expansion, layers, base_channels, embed_dim,
                         pooling, two_emb_layer, head, embed_point, seg_bn_affine)


MODELS.add("resnet", ResNet)
for _depth in DEPTHS:
    MODELS.add(f"resnet{_depth}", preset(ResNet, depth=_depth))
    MODELS.add(f"resnet{_depth}se", preset(ResNet, depth=_depth, se=True))
