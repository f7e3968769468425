"""MIRNet (Han, Chung & Kang, "MIRNet: Learning multiple identities representations in overlapped
speech", Interspeech 2020): N speaker embeddings from one overlapped N-speaker spectrum, no enrollment.

Input [B, T, F]: the F = D = 257-bin log spectrum (32 ms frames, 10 ms hop, 512-point FFT:
`features: {name: spectrogram, frame_length: 32}` at 16 kHz).
1. Speech encoder: 1-D convolutions over time, each followed by LeakyReLU(0.2), with (channels,
   kernel) = `encoder_channels` x `encoder_kernels` (the paper: (512, 5) (512, 3) (512, 3) (512, 1)
   (1500, 1)) and a last (N*D, 1) layer: V1 [B, N*D, T]. `encoder_norm: batch` puts a BatchNorm1d
   after each activation, as in the x-vector TDNN whose frame layers these sizes are: without it
   PyTorch's default init shrinks the signal about 2x per layer, so V1 (and Z) hardly depend on the
   input and the model barely learns (egs/overlap/README.md); `none` is the bare description.
2. Spectral attention, per branch k = 1..N:
   - channel exchange: V_k = V1 rolled by (k-1)*D channels; for N = 2, V2 = concat(V1[D:2D], V1[:D]);
   - a shared frame attention W_k = sigmoid(fc2(tanh(fc1(V_k)))) [B, T, 1] (fc1: `attention_dim` = 64);
   - a per-branch FC maps W_k to D dims, which multiply V_k's first D channels (the paper's "multiplied
     with V"; for branch 2 these are V1[D:2D], so each branch attends its own half of the code), and a
     per-branch FC (D -> D) with ReLU gives Z_k [B, T, D]. With `shared_branches: true` one pair of
     FCs serves every branch, so branch k is branch 1 applied to V_k: the two embeddings then come
     from one function of the two halves of the code, and swapping the halves swaps them exactly
     (egs/overlap's mini config: it learned faster and scored better there, egs/overlap/README.md).
3. Speaker embedding: one ResNet (`depth`, default 18) with temporal average pooling, shared by the
   branches, maps each Z_k to I_k. forward returns [B, N, embed_dim]; the loss is the
   permutation-invariant cross-entropy (loss.name: pit_softmax).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from pytorch.models.registry import MODELS
from pytorch.models.resnet import ResNet


def exchange_channels(v: torch.Tensor, dim: int, k: int) -> torch.Tensor:
    """V_{k+1}: v [B, N*dim, T] rolled so that channel block k comes first (k = 0 returns v)."""
    return torch.cat([v[:, k * dim:], v[:, :k * dim]], dim=1) if k else v


@MODELS.register("mirnet")
class MIRNet(nn.Module):
    def __init__(self, feat_dim: int, num_identities: int = 2,
                 encoder_channels: Sequence[int] = (512, 512, 512, 512, 1500),
                 encoder_kernels: Sequence[int] = (5, 3, 3, 1, 1), attention_dim: int = 64,
                 depth: int = 18, base_channels: int = 32, embed_dim: int = 256,
                 pooling: Mapping[str, Any] | str | None = "tap", encoder_norm: str = "batch",
                 shared_branches: bool = False) -> None:
        super().__init__()
        if len(encoder_channels) != len(encoder_kernels):
            raise ValueError(f"model.encoder_channels ({len(encoder_channels)}) and model.encoder_kernels "
                             f"({len(encoder_kernels)}) must have the same length")
        if num_identities < 1:
            raise ValueError(f"model.num_identities: at least 1, got {num_identities}")
        if encoder_norm not in ("batch", "none"):
            raise ValueError(f"model.encoder_norm: 'batch' or 'none', got {encoder_norm!r}")
        self.feat_dim, self.embed_dim, self.num_identities = feat_dim, embed_dim, num_identities
        layers: list[nn.Module] = []
        cin = feat_dim
        for cout, k in [*zip(encoder_channels, encoder_kernels), (num_identities * feat_dim, 1)]:
            layers += [nn.Conv1d(cin, cout, k, padding=k // 2), nn.LeakyReLU(0.2)]
            if encoder_norm == "batch":
                layers.append(nn.BatchNorm1d(cout))
            cin = cout
        self.encoder = nn.Sequential(*layers)
        self.att_fc1 = nn.Linear(num_identities * feat_dim, attention_dim)
        self.att_fc2 = nn.Linear(attention_dim, 1)
        fcs = 1 if shared_branches else num_identities
        self.weight_fc = nn.ModuleList(nn.Linear(1, feat_dim) for _ in range(fcs))
        self.out_fc = nn.ModuleList(nn.Linear(feat_dim, feat_dim) for _ in range(fcs))
        self.backbone = ResNet(feat_dim, depth=depth, base_channels=base_channels, embed_dim=embed_dim,
                               pooling=pooling)

    def branches(self, feats: torch.Tensor) -> torch.Tensor:
        """Z [B, N, T, D]: the attended spectra the backbone embeds."""
        v1 = self.encoder(feats.transpose(1, 2))                       # [B, N*D, T]
        zs = []
        for k in range(self.num_identities):
            j = k % len(self.weight_fc)
            wfc, ofc = self.weight_fc[j], self.out_fc[j]
            v = exchange_channels(v1, self.feat_dim, k).transpose(1, 2)   # [B, T, N*D]
            w = torch.sigmoid(self.att_fc2(torch.tanh(self.att_fc1(v))))  # [B, T, 1]
            zs.append(torch.relu(ofc(wfc(w) * v[..., :self.feat_dim])))
        return torch.stack(zs, dim=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        z = self.branches(feats)
        b, n, t, d = z.shape
        return self.backbone(z.reshape(b * n, t, d)).reshape(b, n, self.embed_dim)
