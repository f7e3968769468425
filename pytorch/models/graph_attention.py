"""The graph layers of AASIST (Jung et al., ICASSP 2022; pytorch/models/aasist.py): graph attention over the
spectral or the temporal nodes, heterogeneous stacking graph attention (HS-GAL) over both with a master node,
and graph pooling. Nodes are [B, N, D]; every graph is fully connected. Attribute names follow the official
clovaai/aasist state dict, so its checkpoints load strictly."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _att_weight(dim: int) -> nn.Parameter:
    w = nn.Parameter(torch.empty(dim, 1))
    nn.init.xavier_normal_(w)
    return w


def _pair_features(x: torch.Tensor) -> torch.Tensor:
    """[B, N, D] -> [B, N, N, D], entry (i, j) = x_i * x_j: the input of the attention scores."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _node_bn(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """Batch norm over feature dims with every node of every graph as one sample."""
    return bn(x.reshape(-1, x.shape[-1])).view(x.shape)


class GraphAttention(nn.Module):
    """Graph attention over a fully connected graph: softmax(w . tanh(W (x_i * x_j)) / temperature) over j,
    then proj(attended) + proj(self), BN, SELU."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _att_weight(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(dropout)
        self.temp = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_drop(x)
        scores = torch.tanh(self.att_proj(_pair_features(x))) @ self.att_weight
        att = torch.softmax(scores.squeeze(-1) / self.temp, dim=-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return F.selu(_node_bn(self.bn, x))


class HeteroGraphAttention(nn.Module):
    """Heterogeneous stacking graph attention (HS-GAL) over the union of two node types (temporal, spectral):
    each type pair (within type 1, within type 2, across) has its own attention vector, and a master node
    attends to every node."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = _att_weight(out_dim)
        self.att_weight22 = _att_weight(out_dim)
        self.att_weight12 = _att_weight(out_dim)
        self.att_weightM = _att_weight(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(dropout)
        self.temp = temperature

    def _scores(self, x: torch.Tensor, n1: int) -> torch.Tensor:
        h = torch.tanh(self.att_proj(_pair_features(x)))  # [B, N, N, D]
        cross = self.att_weight12  # one vector for both directions across the types
        top = torch.cat([h[:, :n1, :n1] @ self.att_weight11, h[:, :n1, n1:] @ cross], dim=2)
        bottom = torch.cat([h[:, n1:, :n1] @ cross, h[:, n1:, n1:] @ self.att_weight22], dim=2)
        return torch.cat([top, bottom], dim=1).squeeze(-1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n1 = x1.shape[1]
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        if master is None:
            master = x.mean(dim=1, keepdim=True)
        x = self.input_drop(x)
        # master node: attends to every node, from the old master
        m_scores = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # [B, N, 1]
        m_att = torch.softmax(m_scores / self.temp, dim=1)
        master = self.proj_with_attM(m_att.transpose(1, 2) @ x) + self.proj_without_attM(master)
        att = torch.softmax(self._scores(x, n1) / self.temp, dim=-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        x = F.selu(_node_bn(self.bn, x))
        return x[:, :n1], x[:, n1:], master


class GraphPool(nn.Module):
    """Keep the top `ratio` of nodes by a learned sigmoid score, each scaled by its score."""

    def __init__(self, ratio: float, in_dim: int, p: float = 0.3) -> None:
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(in_dim, 1)
        self.drop = nn.Dropout(p) if p > 0 else nn.Identity()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.proj(self.drop(h)))  # [B, N, 1]
        keep = max(int(h.shape[1] * self.ratio), 1)
        idx = torch.topk(scores, keep, dim=1).indices.expand(-1, -1, h.shape[2])
        return torch.gather(h * scores, 1, idx)
