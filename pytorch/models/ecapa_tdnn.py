"""ECAPA-TDNN (Desplanques et al., Interspeech 2020).

Conv1d(k=5) stem with C channels; three SE-Res2Net blocks (1x1 conv, Res2Net dilated k=3 convs with
`scale` groups, 1x1 conv, SE with a 128-d bottleneck; dilations 2, 3, 4) with residual connections;
multi-layer feature aggregation: the three block outputs are concatenated and mixed by a 1x1 conv
to 1536 channels; channel- and context-dependent attentive statistics pooling (global mean/std
appended to the attention input), BN, and a linear layer to the 192-d embedding.
With 80-dim fbank: 6,190,720 parameters for C=512 and 14,657,088 for C=1024.
`forward(feats, lengths)` embeds a zero-padded batch of different lengths exactly (see
pytorch.models.masking): the inputs of the k > 1 convs (stem, Res2Net) are zeroed on the padding,
SE and pooling use the valid frames.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pytorch.models.masking import cat_channels, masked, time_mask
from pytorch.models.registry import MODELS, build_pooling, preset
from pytorch.models.se import Conv1dReluBn, SE1d


class Res2Conv1d(nn.Module):
    """Res2Net dilated conv over `scale` channel groups; the last group is passed through."""

    def __init__(self, channels: int, kernel: int, dilation: int, scale: int) -> None:
        super().__init__()
        if channels % scale:
            raise ValueError(f"ecapa_tdnn: channels {channels} not divisible by scale {scale}")
        self.width = channels // scale
        self.convs = nn.ModuleList(Conv1dReluBn(self.width, self.width, kernel, dilation)
                                   for _ in range(scale - 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`x` must be zero on the padded frames when `mask` is given."""
        parts = torch.split(x, self.width, dim=1)
        outs = []
        prev = parts[0]
        for i, conv in enumerate(self.convs):
            prev = masked(conv(parts[i] if i == 0 else prev + parts[i]), mask)
            outs.append(prev)
        outs.append(parts[-1])
        return cat_channels(outs)


class SERes2Block(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int, scale: int, se_bottleneck: int) -> None:
        super().__init__()
        self.conv1 = Conv1dReluBn(channels, channels, 1)
        self.res2 = Res2Conv1d(channels, kernel, dilation, scale)
        self.conv3 = Conv1dReluBn(channels, channels, 1)
        self.se = SE1d(channels, se_bottleneck)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x + self.se(self.conv3(self.res2(masked(self.conv1(x), mask), mask)), mask)


class ECAPATDNN(nn.Module):
    BN_BEFORE_LINEAR = (("pool_bn", "fc"),)   # extraction mode folds pool_bn into fc
    ACCEPTS_LENGTHS = True                     # forward(feats, lengths): pytorch.models.masking
    EXTRACT_MAX_FRAMES = 1600                  # extraction sub-batches (pytorch.inference.FrameCapped)

    def __init__(self, feat_dim: int, channels: int = 512, embed_dim: int = 192, scale: int = 8,
                 dilations: tuple[int, ...] | list[int] = (2, 3, 4), mfa_channels: int = 1536,
                 se_bottleneck: int = 128, pooling: Mapping[str, Any] | str | None = None,
                 emb_bn: bool = False) -> None:
        super().__init__()
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.stem = Conv1dReluBn(feat_dim, channels, 5)
        self.blocks = nn.ModuleList(SERes2Block(channels, 3, d, scale, se_bottleneck) for d in dilations)
        self.mfa = nn.Conv1d(channels * len(dilations), mfa_channels, 1)
        if pooling is None:
            pooling = {"name": "asp", "hidden": 128, "global_context": True}
        self.pool = build_pooling(pooling, mfa_channels)
        self.pool_bn = nn.BatchNorm1d(self.pool.out_dim)
        self.fc = nn.Linear(self.pool.out_dim, embed_dim)
        self.emb_bn = nn.BatchNorm1d(embed_dim) if emb_bn else nn.Identity()

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """feats [B, T, F] -> [B, embed_dim]; `lengths` [B] (int64): the valid frames of each row
        of a zero-padded batch, for the embedding each row gets alone."""
        x = feats.transpose(1, 2)
        mask = None if lengths is None else time_mask(lengths, x)
        x = self.stem(masked(x, mask))
        outs = []
        for block in self.blocks:
            x = block(x, mask)
            outs.append(x)
        x = torch.relu(self.mfa(cat_channels(outs)))
        return self.emb_bn(self.fc(self.pool_bn(self.pool(x, mask))))


MODELS.add("ecapa_tdnn", ECAPATDNN)
MODELS.add("ecapa_tdnn_c512", preset(ECAPATDNN, channels=512))
MODELS.add("ecapa_tdnn_c1024", preset(ECAPATDNN, channels=1024))
