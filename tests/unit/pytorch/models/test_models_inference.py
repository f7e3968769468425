"""Extraction mode gives the eager embeddings (|diff| <= 1e-4) for every family."""
import multiprocessing
import os
import threading

import pytest
import torch
from torch import nn

from pytorch.inference import FrameCapped, ParallelRows, fold_batchnorm, prepare_for_inference
from pytorch.models import build_model

torch.set_num_threads(1)

FAMILIES = {
    "resnet34se": dict(feat_dim=16, base_channels=4, embed_dim=24),
    "resnet50": dict(feat_dim=16, base_channels=4, embed_dim=24, two_emb_layer=True),
    "ecapa_tdnn": dict(feat_dim=16, channels=32, mfa_channels=96, se_bottleneck=8, scale=4, embed_dim=24,
                       emb_bn=True),
    "se_res2net50": dict(feat_dim=16, base_channels=8, embed_dim=24),
    "res2next50": dict(feat_dim=16, base_channels=16, embed_dim=24),
    "tdnn": dict(feat_dim=16, hidden=32, stats_dim=48, embed_dim=24, pooling={"name": "mqmha", "heads": 2}),
}


def trained_like(name: str) -> nn.Module:
    """A model whose BNs have non-trivial statistics, as after training."""
    torch.manual_seed(0)
    model = build_model({"name": name, **FAMILIES[name]})
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.3, 0.3)
    return model.eval()


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_prepared_model_matches_eager(name):
    model = trained_like(name)
    fast = prepare_for_inference(model)
    rows = fast.model if isinstance(fast, FrameCapped) else fast
    assert isinstance(rows, ParallelRows) and isinstance(rows.model, torch.jit.ScriptModule)
    with torch.inference_mode():
        for b, t in [(1, 80), (4, 33)]:
            x = torch.randn(b, t, 16)
            assert (fast(x) - model(x)).abs().max().item() <= 1e-4


def test_original_model_is_untouched():
    model = trained_like("resnet34se")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prepare_for_inference(model)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_fold_removes_batchnorms_after_convs():
    model = trained_like("resnet34se")
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    x = torch.randn(2, 40, 16)
    with torch.no_grad():
        ref = model(x)
        assert fold_batchnorm(model) == n_bn     # every ResNet BN follows a conv
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        assert torch.allclose(model(x), ref, atol=1e-5)


def test_ecapa_head_bn_folds_into_fc():
    model = trained_like("ecapa_tdnn")
    x = torch.randn(2, 40, 16)
    with torch.no_grad():
        ref = model(x)
        fold_batchnorm(model)
        assert isinstance(model.pool_bn, nn.Identity)
        assert torch.allclose(model(x), ref, atol=1e-5)


def test_eager_fallback_without_script():
    model = trained_like("tdnn")
    fast = prepare_for_inference(model, script=False)
    assert not isinstance(fast, torch.jit.ScriptModule) and not fast.training


@pytest.mark.parametrize("name", ["ecapa_tdnn", "resnet34se"])
def test_onnx_runtime_engine_gives_the_eager_embeddings(name):
    pytest.importorskip("onnxruntime")
    from pytorch.export import PARITY_TOL, OnnxRuntimeModel
    model = trained_like(name).eval()
    engine = OnnxRuntimeModel(model, threads=1)
    for b, t in ((1, 250), (4, 77)):     # dynamic batch and time axes
        x = torch.randn(b, t, 16, generator=torch.Generator().manual_seed(b))
        with torch.no_grad():
            assert (engine(x) - model(x)).abs().max().item() <= PARITY_TOL


@pytest.mark.parametrize("name", ["ecapa_tdnn", "resnet34se"])
def test_bfloat16_autocast_is_close_not_exact(name):
    """dtype=bfloat16 (pytorch.bin.extract --dtype bfloat16): embeddings within cosine 0.999 of
    float32, padded batches included; not equal, which is why it is opt-in."""
    model = trained_like(name)
    fast = prepare_for_inference(model, dtype=torch.bfloat16)
    x = torch.randn(3, 60, 16)
    lengths = torch.tensor([60, 45, 30])
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0
    with torch.inference_mode():
        ref = model(x)
        out = fast(x)
        alone = torch.cat([model(x[i:i + 1, :n]) for i, n in enumerate(lengths.tolist())])
        padded = fast(x, lengths)
    assert out.dtype == torch.float32
    assert nn.functional.cosine_similarity(out, ref).min().item() >= 0.999
    assert nn.functional.cosine_similarity(padded, alone).min().item() >= 0.999
    assert (out - ref).abs().max().item() > 0


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype must be"):
        prepare_for_inference(trained_like("ecapa_tdnn"), dtype=torch.float64)


class _ThreadRecorder(nn.Module):
    """Records, per call, the rows it got, its thread's name and torch's thread count there."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, str, int, bool]] = []

    def forward(self, x, lengths=None):
        self.calls.append((x.shape[0], threading.current_thread().name, torch.get_num_threads(),
                           torch.is_inference_mode_enabled()))
        return x.sum(dim=1)


def test_parallel_rows_splits_over_one_thread_workers_and_restores_the_count():
    rec = _ThreadRecorder()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch.inference_mode():
            out = ParallelRows(rec)(torch.arange(5.0).view(5, 1, 1).expand(5, 3, 2))
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        ParallelRows(rec)(torch.zeros(4, 3, 2))
    finally:
        torch.set_num_threads(before)
    assert out[:, 0].tolist() == [0.0, 3.0, 6.0, 9.0, 12.0]        # the rows, in order
    parallel, direct = rec.calls[:2], rec.calls[2]
    assert sorted(r for r, *_ in parallel) == [2, 3]
    assert all(name.startswith("asvlab-rows") and n == 1 and inf for _, name, n, inf in parallel)
    assert direct[0] == 4 and not direct[1].startswith("asvlab-rows")


def test_parallel_rows_give_the_one_thread_embeddings_with_and_without_lengths():
    fast = prepare_for_inference(trained_like("ecapa_tdnn"))
    x = torch.randn(5, 40, 16)
    lengths = torch.tensor([40, 33, 40, 20, 12])
    x = x * (torch.arange(40)[None, :, None] < lengths[:, None, None])
    before = torch.get_num_threads()
    try:
        with torch.inference_mode():
            torch.set_num_threads(2)
            par, par_len = fast(x), fast(x, lengths)
            torch.set_num_threads(1)
            one, one_len = fast(x), fast(x, lengths)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(par, one, atol=1e-5, rtol=0)
    torch.testing.assert_close(par_len, one_len, atol=1e-5, rtol=0)


def _rows_in_child(queue) -> None:
    torch.set_num_threads(2)
    queue.put(ParallelRows(_ThreadRecorder())(torch.ones(4, 3, 2)).sum().item())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_parallel_rows_work_in_a_forked_child_after_the_parent_used_them():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ParallelRows(_ThreadRecorder())(torch.ones(4, 3, 2))      # the parent's pool now exists
    finally:
        torch.set_num_threads(before)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_rows_in_child, args=(queue,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("ParallelRows hung in a forked child (the parent's worker threads do not exist there)")
    assert child.exitcode == 0 and queue.get(timeout=5) == 24.0
