"""AASIST's eval forward without autograd (time chunks, bn2 folded, chunks on worker threads; pytorch/models/aasist.py)
equals the plain formula, which runs whenever autograd is on: at chunk sizes that put chunk edges everywhere,
at time lengths with each remainder mod 3 (the max-pools drop it), and with 1 and 2 torch threads."""
from __future__ import annotations

import pytest
import torch

from pytorch.models import aasist
from pytorch.models.aasist import AASIST, ResidualBlock

SMALL = {"first_conv": 128, "filts": [70, [1, 8], [8, 8], [8, 16], [16, 16]], "gat_dims": [16, 8],
         "pool_ratios": [0.5, 0.5, 0.5, 0.5], "temperatures": [2.0, 2.0, 100.0, 100.0]}


def _trained_like(module: torch.nn.Module) -> torch.nn.Module:
    """Random BN statistics and affine parameters, so that folding bn2 into conv1 is exercised."""
    g = torch.Generator().manual_seed(3)
    for m in module.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(m.num_features, generator=g))
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return module.eval()


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("width", [30, 31, 32])
@pytest.mark.parametrize("in_ch,out_ch", [(1, 8), (8, 8)])
def test_block_chunks_equal_the_formula(monkeypatch, threads, n_threads, width, in_ch, out_ch):
    torch.manual_seed(0)
    block = _trained_like(ResidualBlock(in_ch, out_ch, first=in_ch == 1))
    x = torch.randn(2, in_ch, 5, width)
    ref = block(x).detach()  # autograd on: the plain formula
    assert ref.shape == (2, out_ch, 5, width // 3)
    torch.set_num_threads(n_threads)
    for elements in (1, out_ch * 6 * 3 * 4, 10**9):  # per batch entry: one pooled step per chunk, 4, all
        monkeypatch.setattr(aasist, "_CHUNK_ELEMENTS", elements)
        with torch.inference_mode():
            fast = block(x)
        torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)
    assert torch.get_num_threads() == n_threads  # restored after the workers ran


@pytest.mark.parametrize("n_threads", [1, 2])
def test_whole_model_chunked_equals_plain(monkeypatch, threads, n_threads):
    torch.manual_seed(1)
    model = _trained_like(AASIST(**SMALL))
    wave = 0.1 * torch.randn(2, 8000 + 129 + 2)  # sinc output length 8002: not a multiple of 3
    emb_ref, logits_ref = (t.detach() for t in model.embed(wave))
    torch.set_num_threads(n_threads)
    monkeypatch.setattr(aasist, "_CHUNK_ELEMENTS", 5000)
    with torch.no_grad():
        emb, logits = model.embed(wave)
    torch.testing.assert_close(emb, emb_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, logits_ref, rtol=1e-5, atol=1e-5)
    # the front end: pooled |sinc| of the chunked path vs max_pool2d over all 70 filters
    with torch.no_grad():
        front = model._front_chunked(wave)
    plain = torch.nn.functional.max_pool2d(model.conv_time(wave.unsqueeze(1)).unsqueeze(1).abs(), (3, 3))
    assert torch.equal(front, plain)
