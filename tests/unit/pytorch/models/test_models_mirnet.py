"""MIRNet: the channel exchange, the branch symmetry it gives, shapes, the registry, and extraction of
its two embeddings per utterance."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from common.errors import ConfigError
from pytorch.data.extraction import InputSource, extract_embeddings
from pytorch.models import build_model
from pytorch.models.mirnet import exchange_channels

SMALL = {"name": "mirnet", "feat_dim": 9, "encoder_channels": [6, 6, 6, 6, 8],
         "encoder_kernels": [5, 3, 3, 1, 1], "attention_dim": 4, "depth": 10, "base_channels": 2,
         "embed_dim": 5}


def test_channel_exchange_swaps_the_halves():
    v1 = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(1, 6, 2)     # D = 3, two frames
    v2 = exchange_channels(v1, 3, 1)
    assert torch.equal(v2[:, :3], v1[:, 3:]) and torch.equal(v2[:, 3:], v1[:, :3])
    assert torch.equal(exchange_channels(v1, 3, 0), v1)
    v3 = torch.arange(9, dtype=torch.float32).reshape(1, 9, 1)             # N = 3: rolled blocks
    assert exchange_channels(v3, 3, 2)[0, :, 0].tolist() == [6, 7, 8, 0, 1, 2, 3, 4, 5]


def test_shapes_and_registry():
    torch.manual_seed(0)
    model = build_model(SMALL).eval()
    x = torch.randn(3, 40, 9)
    z = model.branches(x)
    assert z.shape == (3, 2, 40, 9)
    emb = model(x)
    assert emb.shape == (3, 2, 5) and model.embed_dim == 5
    assert build_model({**SMALL, "num_identities": 3})(x).shape == (3, 3, 5)


def _assert_swapping_the_code_swaps_the_embeddings(model: torch.nn.Module) -> None:
    """Permutes the output channels of the (2D, 1) conv, so that V1's halves swap (the BatchNorm after it
    is channel-symmetric at init), and checks that the two embeddings swap with them."""
    x = torch.randn(2, 30, 9)
    last = [m for m in model.encoder if isinstance(m, torch.nn.Conv1d)][-1]
    emb = model(x)
    with torch.no_grad():
        last.weight.copy_(torch.cat([last.weight[9:], last.weight[:9]]))
        last.bias.copy_(torch.cat([last.bias[9:], last.bias[:9]]))
    swapped = model(x)
    torch.testing.assert_close(swapped[:, 0], emb[:, 1])
    torch.testing.assert_close(swapped[:, 1], emb[:, 0])


def test_identical_branch_weights_give_swapped_embeddings_for_swapped_codes():
    """With branch 2's FCs equal to branch 1's, branch 2 is branch 1 applied to V2: a code whose halves
    are swapped swaps the two embeddings."""
    torch.manual_seed(1)
    model = build_model(SMALL).eval()
    model.weight_fc[1].load_state_dict(model.weight_fc[0].state_dict())
    model.out_fc[1].load_state_dict(model.out_fc[0].state_dict())
    _assert_swapping_the_code_swaps_the_embeddings(model)


def test_shared_branches_swap_embeddings_with_the_code_halves():
    """shared_branches: one pair of FCs for both branches, so the model is the swap-symmetric one of the
    test above without any weight copying, with half the branch parameters."""
    torch.manual_seed(2)
    shared = build_model({**SMALL, "shared_branches": True}).eval()
    assert len(shared.weight_fc) == len(shared.out_fc) == 1
    n = sum(p.numel() for p in shared.parameters())
    assert sum(p.numel() for p in build_model(SMALL).parameters()) - n == 9 * 2 + 9 * 10   # (1->9) + (9->9) FCs
    _assert_swapping_the_code_swaps_the_embeddings(shared)


def test_bad_encoder_config():
    with pytest.raises(ValueError, match="same length"):
        build_model({**SMALL, "encoder_kernels": [5, 3]})
    with pytest.raises(ValueError, match="encoder_norm"):
        build_model({**SMALL, "encoder_norm": "layer"})


def _code_spread(model: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(std of V1, std over the batch of each utterance's mean code): how much V1 says about the input."""
    with torch.no_grad():
        v1 = model.encoder(x.transpose(1, 2))
    return float(v1.std()), float(v1.mean(2).std(0).mean())


def test_encoder_code_keeps_its_scale_through_the_layers():
    """The fix for MIRNet not learning on the mini mixtures: with PyTorch's default init and no
    normalisation, each conv + LeakyReLU roughly halves the signal, so after six layers V1 (and hence Z)
    barely depends on the input. BatchNorm after each layer keeps V1 at unit scale."""
    torch.manual_seed(3)
    cfg = {**SMALL, "feat_dim": 40, "encoder_channels": [64, 64, 64, 64, 128]}
    x = torch.randn(8, 60, 40) * 3 + torch.randn(8, 1, 40)     # per-utterance offsets to tell apart
    std, spread = _code_spread(build_model(cfg).train(), x)
    assert std > 0.3 and spread > 0.05
    bare = build_model({**cfg, "encoder_norm": "none"})
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in bare.encoder)
    std_bare, spread_bare = _code_spread(bare, x)
    assert std_bare < std / 5 and spread_bare < spread / 5      # what the bare description gives


def test_extraction_concatenates_the_embeddings_and_refuses_chunk_averaging():
    torch.manual_seed(2)
    model = build_model(SMALL).eval()
    mats = {"a": np.random.default_rng(0).standard_normal((50, 9)).astype(np.float32),
            "b": np.random.default_rng(1).standard_normal((30, 9)).astype(np.float32)}
    src = InputSource(["a", "b"], {u: len(m) for u, m in mats.items()}, lambda u: mats[u])
    emb, _ = extract_embeddings(model, src, apply_cmn=False)
    assert emb.shape == (2, 10)
    with torch.no_grad():
        want = model(torch.from_numpy(mats["a"])[None])[0].reshape(-1).numpy()
    np.testing.assert_allclose(emb[0], want, rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="max_chunk_frames: 0"):
        extract_embeddings(model, src, max_chunk_frames=20, apply_cmn=False)
