"""Building blocks shared by the model families: squeeze-excitation and conv+BN helpers."""
from __future__ import annotations

import torch
from torch import nn


class SE2d(nn.Module):
    """Squeeze-excitation over channels of a [B, C, F, T] map (Hu et al. 2018), with a bottleneck of
    max(channels // reduction, min_hidden) units: the floor of 4 keeps narrow stages useful, while
    ASV-Subtools' CNSRC baseline has no floor (reduction 16: 2, 4, 8, 16 units; min_hidden 1)."""

    def __init__(self, channels: int, reduction: int = 8, min_hidden: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, min_hidden)
        if hidden < 1:
            raise ValueError(f"SE: {channels} channels // reduction {reduction} gives an empty bottleneck; "
                             "set se_min_hidden >= 1")
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def scale(self, mean: torch.Tensor) -> torch.Tensor:
        """Channel weights [B, C] from the map's mean over frequency and time (pytorch.chunked
        computes that mean over chunks of a long recording)."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(mean))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`mask` [B, 1, 1, T] (pytorch.models.masking): the mean over the valid frames only."""
        if mask is None:
            mean = x.mean(dim=(2, 3))
        else:
            mean = (x * mask).sum(dim=(2, 3)) / (mask.sum(dim=(2, 3)) * x.shape[2])
        return x * self.scale(mean)[:, :, None, None]


class SE1d(nn.Module):
    """Squeeze-excitation over channels of a [B, C, T] sequence, with a fixed bottleneck width
    (128 in ECAPA-TDNN, independent of C)."""

    def __init__(self, channels: int, bottleneck: int = 128) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, bottleneck)
        self.fc2 = nn.Linear(bottleneck, channels)

    def scale(self, mean: torch.Tensor) -> torch.Tensor:
        """Channel weights [B, C] from the sequence's mean over time."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(mean))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`mask` [B, 1, T] (pytorch.models.masking): the mean over the valid frames only."""
        mean = x.mean(dim=2) if mask is None else (x * mask).sum(dim=2) / mask.sum(dim=2)
        return x * self.scale(mean)[:, :, None]


def conv_bn2d(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Bias-free conv followed by BN (the BN folds into the conv in extraction mode)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout))


class Conv1dReluBn(nn.Module):
    """Conv1d -> ReLU -> BN, the TDNN/ECAPA layer order (Desplanques et al. 2020, Snyder et al. 2018)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, dilation: int = 1, pad: bool = True) -> None:
        super().__init__()
        # pad=False is Kaldi's TDNN: no frames invented at the edges, T shrinks by the context.
        padding = dilation * (kernel // 2) if pad else 0
        self.conv = nn.Conv1d(cin, cout, kernel, dilation=dilation, padding=padding)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.relu(self.conv(x)))
