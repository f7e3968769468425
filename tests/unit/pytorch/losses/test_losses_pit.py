"""The permutation-invariant cross-entropy on hand-made logits: the assignment with the smallest summed
cross-entropy is chosen, the loss is that sum, and the returned logits follow the assignment."""
from __future__ import annotations

import math

import pytest
import torch

from pytorch.losses import build_loss
from pytorch.losses.pit import pit_cross_entropy


def _ce(logits: list[float], label: int) -> float:
    return -logits[label] + math.log(sum(math.exp(v) for v in logits))


def test_two_speakers_the_swapped_assignment_is_chosen():
    # output 0 looks like class 2, output 1 like class 0; the labels say (0, 2): swapped is cheaper
    rows = [[0.0, 0.5, 3.0], [2.0, 0.0, -1.0]]
    loss, perm = pit_cross_entropy(torch.tensor([rows]), torch.tensor([[0, 2]]))
    straight = _ce(rows[0], 0) + _ce(rows[1], 2)
    swapped = _ce(rows[1], 0) + _ce(rows[0], 2)
    assert swapped < straight
    assert loss.item() == pytest.approx(swapped, rel=1e-5)
    assert perm.tolist() == [[1, 0]]           # output 0 -> label 1, output 1 -> label 0


def test_per_sample_minimum_and_the_straight_case():
    rows = torch.tensor([[[4.0, 0.0], [0.0, 4.0]], [[0.0, 4.0], [4.0, 0.0]]])
    labels = torch.tensor([[0, 1], [0, 1]])
    loss, perm = pit_cross_entropy(rows, labels)
    best = 2 * _ce([4.0, 0.0], 0)
    assert loss.tolist() == pytest.approx([best, best], rel=1e-5)
    assert perm.tolist() == [[0, 1], [1, 0]]


def test_three_speakers_search_all_permutations():
    # output i is confident about class (i + 1) % 3; labels (0, 1, 2): the cyclic assignment wins
    logits = torch.full((1, 3, 3), -2.0)
    for i in range(3):
        logits[0, i, (i + 1) % 3] = 3.0
    loss, perm = pit_cross_entropy(logits, torch.tensor([[0, 1, 2]]))
    assert perm.tolist() == [[1, 2, 0]]
    assert loss.item() == pytest.approx(3 * _ce([3.0, -2.0, -2.0], 0), rel=1e-5)


def test_loss_module_aligns_logits_with_labels():
    loss_fn = build_loss({"name": "pit_softmax"}, embed_dim=2, num_classes=3)
    with torch.no_grad():
        loss_fn.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        loss_fn.fc.bias.zero_()
    emb = torch.tensor([[[0.0, 5.0], [5.0, 0.0]]])        # outputs look like classes 1 and 0
    loss, logits = loss_fn(emb, torch.tensor([[0, 1]]))
    assert logits.shape == (1, 3, 2)
    assert logits.argmax(dim=1).tolist() == [[0, 1]]      # reordered to the labels
    rows = [[0.0, 5.0, -5.0], [5.0, 0.0, -5.0]]
    assert loss.item() == pytest.approx(_ce(rows[1], 0) + _ce(rows[0], 1), rel=1e-5)
    loss.backward()
    assert loss_fn.fc.weight.grad is not None


def test_single_embedding_input_is_refused():
    loss_fn = build_loss({"name": "pit_softmax"}, embed_dim=4, num_classes=3)
    with pytest.raises(ValueError, match="multi-identity"):
        loss_fn(torch.zeros(2, 4), torch.tensor([0, 1]))
