"""Permutation-invariant cross-entropy (PIT, Yu et al. 2017) for multi-identity models (MIRNet).

The model gives N embeddings per mixture in no particular order, the labels name its N speakers;
the loss is the smallest summed cross-entropy over the N! assignments,
    L = min_perm sum_i CE(y_i, label_perm(i)),  for N = 2:  min(CE(y1,A)+CE(y2,B), CE(y2,A)+CE(y1,B)),
averaged over the batch. forward(emb [B, N, D], labels [B, N]) -> (loss, logits [B, C, N]), the
logits reordered by the chosen assignment so that logits[:, :, j] belongs to labels[:, j]
(torch's [B, C, d] layout: accuracy is logits.argmax(1) == labels).
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from pytorch.losses.margin import Softmax
from pytorch.losses.registry import LOSSES


def pit_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """logits [B, N, C], labels [B, N] -> (per-sample minimum loss [B], best assignment [B, N]: output
    i goes with labels[:, perm[i]])."""
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(f"PIT needs logits [B, N, C] and labels [B, N], got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}")
    n = logits.shape[1]
    logp = F.log_softmax(logits.float(), dim=-1)
    # ce[b, i, j] = CE of output i against label j
    ce = -logp.gather(2, labels.unsqueeze(1).expand(-1, n, -1))
    perms = torch.tensor(list(itertools.permutations(range(n))), device=logits.device)   # [K, N]
    cost = ce[:, torch.arange(n, device=logits.device), perms].sum(-1)                  # [B, K]
    best, k = cost.min(dim=1)
    return best, perms[k]


@LOSSES.register("pit_softmax")
class PITSoftmax(Softmax):
    """Softmax over a linear classifier, permutation-invariant over the N identities; no margin."""

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if emb.dim() != 3:
            raise ValueError(f"loss pit_softmax needs N embeddings per sample [B, N, D], got "
                             f"{tuple(emb.shape)}; use it with a multi-identity model (mirnet)")
        logits = self.fc(emb)                                   # [B, N, C]
        loss, perm = pit_cross_entropy(logits, labels)
        inverse = perm.argsort(dim=1)                           # label j <- output inverse[j]
        aligned = logits.gather(1, inverse.unsqueeze(-1).expand_as(logits))
        return loss.mean(), aligned.transpose(1, 2)
