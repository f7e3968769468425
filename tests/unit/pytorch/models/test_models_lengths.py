"""Variable-length batches (pytorch.models.masking): `model(padded, lengths)` gives every row the
embedding it gets alone, in eager mode, extraction mode (TorchScript), ONNX Runtime, the extraction
loop and the CLI. Lengths are not multiples of the ResNets' time stride (8)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from common.embeddings import load_embeddings
from pytorch.bin import extract
from pytorch.data.datadir import DataDir
from pytorch.data.extraction import MAX_PAD, InputSource, extract_embeddings, feats_source
from pytorch.export import ExportError, OnnxRuntimeModel, onnx_bytes
from pytorch.inference import prepare_for_inference
from pytorch.interchange import write_experiment
from pytorch.interchange.sections import system_config
from pytorch.models import build_model
from pytorch.models.masking import accepts_lengths
from tests.unit.pytorch.conftest import random_bn_model
from tests.unit.pytorch.data.conftest import write_feats_dir

TINY_ECAPA = {"name": "ecapa_tdnn", "feat_dim": 20, "channels": 32, "mfa_channels": 48, "se_bottleneck": 8,
              "scale": 4, "embed_dim": 16}
TINY_RESNET = {"name": "resnet", "feat_dim": 20, "depth": 10, "base_channels": 4, "embed_dim": 16}
MODELS = {
    "ecapa_global_context": {**TINY_ECAPA, "pooling": {"name": "asp", "hidden": 8, "global_context": True}},
    "ecapa_wespeaker_std": {**TINY_ECAPA, "pooling": {
        "name": "asp", "hidden": 8, "global_context": True, "std": {"two_pass": False},
        "context_std": {"unbiased": True, "floor_mode": "add"}}},
    "ecapa_mqmha_wespeaker": {**TINY_ECAPA, "pooling": {"name": "mqmha_wespeaker", "heads": 4, "hidden": 8}},
    "se_resnet_tsp": {**TINY_RESNET, "se": True},
    "resnet_tstp_unbiased": {**TINY_RESNET, "pooling": {"name": "tsp", "std": {"unbiased": True,
                                                                               "floor_mode": "add"}}},
    "resnet_tap": {**TINY_RESNET, "pooling": "tap"},
    "se_resnet50_asp": {**TINY_RESNET, "depth": 50, "se": True, "pooling": {"name": "asp", "hidden": 8}},
    "resnet_mqmha": {**TINY_RESNET, "pooling": {"name": "mqmha", "heads": 2}},
    "se_res2net50": {"name": "res2net", "feat_dim": 20, "depth": 50, "base_channels": 4, "se": True,
                     "embed_dim": 16},
}
LENGTHS = [203, 97, 150, 13, 1]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def trained_like(cfg: dict) -> nn.Module:
    return random_bn_model(cfg)


def padded_batch(lengths, feat_dim=20, seed=1):
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.randn(t, feat_dim, generator=gen) + 0.3 for t in lengths]
    pad = torch.zeros(len(xs), max(lengths), feat_dim)
    for i, x in enumerate(xs):
        pad[i, :len(x)] = x
    return xs, pad, torch.tensor(lengths)


# Extraction mode (TorchScript) on two models only: scripting the deep ones takes 10-20 s each.
@pytest.mark.parametrize("name,scripted", [(n, n in ("ecapa_wespeaker_std", "se_resnet_tsp")) for n in MODELS])
def test_padded_batch_equals_one_by_one(name, scripted):
    model = trained_like(MODELS[name])
    assert accepts_lengths(model)
    xs, pad, lengths = padded_batch(LENGTHS)
    for m in (model, prepare_for_inference(model)) if scripted else (model,):
        with torch.inference_mode():
            alone = torch.cat([m(x[None]) for x in xs])
            batch = m(pad, lengths)
            unmasked = m(pad)
        np.testing.assert_allclose(batch.numpy(), alone.numpy(), atol=1e-5, rtol=0)
        # The padding does change an unmasked row, so the check above can fail.
        assert (unmasked[1:] - alone[1:]).abs().max() > 1e-3


def test_onnx_runtime_padded_graph():
    model = trained_like(MODELS["ecapa_wespeaker_std"])
    ort = OnnxRuntimeModel(model, 1, lengths=True)
    xs, pad, lengths = padded_batch(LENGTHS)
    with torch.inference_mode():
        alone = torch.cat([model(x[None]) for x in xs])
    np.testing.assert_allclose(ort(pad, lengths).numpy(), alone.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(ort(pad[:1]).numpy(), alone[:1].numpy(), atol=1e-5, rtol=0)
    ort.padded = None                         # as built without lengths=True
    with pytest.raises(ValueError, match="lengths=True"):
        ort(pad, lengths)


def test_models_without_lengths_are_refused_for_the_padded_graph():
    tdnn = build_model({"name": "tdnn", "feat_dim": 20}).eval()
    assert not accepts_lengths(tdnn) and not accepts_lengths(prepare_for_inference(trained_like(TINY_ECAPA)))
    with pytest.raises(ExportError, match="takes no lengths"):
        onnx_bytes(tdnn, lengths=True)


class Recorder(nn.Module):
    """Wraps a model and records the (rows, padded frames, lengths) of every call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, []

    def forward(self, x, lengths=None):
        self.calls.append((x.shape[0], x.shape[1], None if lengths is None else lengths.tolist()))
        return self.model(x) if lengths is None else self.model(x, lengths)


@pytest.mark.parametrize("max_chunk", [0, 120])
def test_extraction_loop_pads_mixed_lengths_with_the_same_embeddings(max_chunk):
    rng = np.random.default_rng(0)
    lengths = {f"u{i:02d}": int(n) for i, n in enumerate(rng.integers(30, 300, 23))}
    mats = {u: rng.standard_normal((t, 20)).astype(np.float32) for u, t in lengths.items()}
    src = InputSource(sorted(lengths), lengths, mats.__getitem__)
    model = Recorder(prepare_for_inference(trained_like(MODELS["ecapa_global_context"])))
    one, _ = extract_embeddings(model, src, max_chunk, batch_size=1)
    model.calls.clear()
    batched, frames = extract_embeddings(model, src, max_chunk, batch_size=4, padded=True)
    np.testing.assert_allclose(batched, one, atol=1e-5, rtol=0)
    assert frames.tolist() == [lengths[u] for u in src.utts]
    padded = [c for c in model.calls if c[2] is not None]
    assert padded, "no batch mixed lengths"
    for rows, frames_in, lens in padded:
        assert rows <= 4 and max(lens) == frames_in and min(lens) >= (1 - MAX_PAD) * frames_in


def test_cli_padded_batches_and_onnx_give_the_same_embeddings(tmp_path):
    lengths = {f"u{i}": ("s", 140 + 7 * i) for i in range(7)}
    write_feats_dir(tmp_path / "d", lengths, dim=20)
    cfg = system_config(data={"mode": "feats", "cmn": True, "num_frames": 200}, features={"name": "fbank"},
                        extract={"batch_size": 4}, model=MODELS["se_resnet_tsp"])
    write_experiment(tmp_path / "exp", cfg, trained_like(cfg["model"]).state_dict())
    runs = {"buckets": ["--padded-batches", "false"], "padded": [],
            "onnx": ["--engine", "onnx"], "bf16": ["--dtype", "bfloat16"]}
    embs = {}
    for name, extra in runs.items():
        out = tmp_path / name
        assert extract.main(["--exp", str(tmp_path / "exp"), "--data", str(tmp_path / "d"), "--out", str(out),
                             "--num-threads", "1", *extra]) == 0
        embs[name] = load_embeddings(out / "xvector.scp")[1]
    assert len(embs["padded"]) == len(feats_source(DataDir(tmp_path / "d"), False).utts)
    for name in ("padded", "onnx"):
        np.testing.assert_allclose(embs[name], embs["buckets"], atol=1e-5, rtol=0)
    a, b = embs["bf16"], embs["buckets"]          # bfloat16 autocast: close, not exact
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.999 and np.abs(a - b).max() > 0
