"""Export an embedding model to TorchScript and ONNX, with a parity check against eager PyTorch.

Both exports take feats [B, T, F] float32 and return embeddings [B, D], with dynamic batch and
time axes. The exported graph is the BN-folded model (pytorch.inference.fold_batchnorm), not the
frozen CPU graph, so the TorchScript file loads on any device. `onnx_bytes(model, lengths=True)`
adds a second input, lengths [B] int64, for zero-padded batches of different lengths (the models of
pytorch.models.masking); OnnxRuntimeModel uses it for such batches, after its own parity check.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from common.errors import AsvError
from common.io import atomic_write
from pytorch.inference import fold_batchnorm
from pytorch.models.masking import accepts_lengths

log = logging.getLogger(__name__)

PARITY_TOL = 1e-4
ONNX_OPSET = 17


class ExportError(AsvError, RuntimeError):
    """An export that failed or does not reproduce the eager model."""


@contextlib.contextmanager
def _needs(package: str) -> Iterator[None]:
    """An optional package (requirements-dev.txt) that is missing becomes a one-line ExportError."""
    try:
        yield
    except ModuleNotFoundError as e:
        raise ExportError(f"ONNX export needs the package {e.name or package}: pip install "
                          f"{e.name or package}, or pass --formats torchscript") from None


def _export_ready(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model).cpu().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    fold_batchnorm(model)
    return model


def _example(model: nn.Module, batch: int = 2, frames: int = 200) -> torch.Tensor:
    feat_dim = getattr(model, "feat_dim", None)
    if feat_dim is None:
        raise ExportError("the model has no attribute feat_dim; cannot make an example input")
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch, frames, feat_dim, generator=gen)


def torchscript_bytes(model: nn.Module) -> bytes:
    """The BN-folded model, scripted and serialised (load with torch.jit.load)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(_export_ready(model)), buf)
    return buf.getvalue()


class _WithLengths(nn.Module):
    """forward(feats, lengths) as the exported signature (the tracer needs both as inputs)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model(feats, lengths)


def onnx_bytes(model: nn.Module, opset: int = ONNX_OPSET, lengths: bool = False) -> bytes:
    """ONNX via the TorchScript-based exporter (dynamo=False needs no onnxscript), with dynamic
    batch and frame axes; with `lengths`, the graph of `model(feats, lengths)` (accepts_lengths)."""
    if lengths and not accepts_lengths(model):
        raise ExportError(f"{type(model).__name__} takes no lengths (pytorch.models.masking)")
    model = _export_ready(model)
    x = _example(model)
    names, axes = ["feats"], {"feats": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}}
    args: tuple[torch.Tensor, ...] = (x,)
    if lengths:
        model = _WithLengths(model)
        args = (x, torch.tensor([x.shape[1], x.shape[1] * 2 // 3]))
        names.append("lengths")
        axes["lengths"] = {0: "batch"}
    buf = io.BytesIO()
    with warnings.catch_warnings(), _needs("onnx"):
        # The legacy exporter's deprecation notice, and tracer notes on shape checks in forward.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, buf, dynamo=False, opset_version=opset,
                          input_names=names, output_names=["embedding"], dynamic_axes=axes)
    return buf.getvalue()


def _run_torchscript(blob: bytes) -> Callable[[torch.Tensor], np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # TorchScript is deprecated in torch 2.x
        m = torch.jit.load(io.BytesIO(blob), map_location="cpu")

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return m(x).numpy()
    return run


def _run_onnx(blob: bytes) -> Callable[[torch.Tensor], np.ndarray]:
    with _needs("onnxruntime"):
        import onnxruntime as ort  # export/test-time dependency only (requirements-dev.txt)
    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {"feats": x.numpy()})[0]


RUNNERS: dict[str, Callable[[bytes], Callable[[torch.Tensor], np.ndarray]]] = {
    "torchscript": _run_torchscript, "onnx": _run_onnx}
EXPORTERS: dict[str, Callable[[nn.Module], bytes]] = {"torchscript": torchscript_bytes, "onnx": onnx_bytes}
SUFFIX = {"torchscript": ".ts.pt", "onnx": ".onnx"}


def check_parity(model: nn.Module, blob: bytes, fmt: str,
                 shapes: tuple[tuple[int, int], ...] = ((1, 300), (3, 157)),
                 tol: float = PARITY_TOL) -> float:
    """Max |export - eager| over random inputs of several (batch, frames) shapes; raises
    ExportError above `tol`. Shapes differ from the export example to exercise the dynamic axes."""
    run = RUNNERS[fmt](blob)
    model = copy.deepcopy(model).cpu().eval()
    gen = torch.Generator().manual_seed(1)
    worst = 0.0
    for b, t in shapes:
        x = torch.randn(b, t, model.feat_dim, generator=gen)
        with torch.no_grad():
            ref = model(x).numpy()
        out = run(x)
        if out.shape != ref.shape:
            raise ExportError(f"{fmt}: output shape {out.shape} != eager {ref.shape} for input {(b, t)}")
        worst = max(worst, float(np.abs(out - ref).max()))
    if worst > tol:
        raise ExportError(f"{fmt}: max |diff| {worst:.2e} to eager PyTorch exceeds {tol:.0e}")
    return worst


def export_model(model: nn.Module, out_dir: str | Path, name: str,
                 formats: list[str] | tuple[str, ...]) -> dict[str, tuple[Path, float]]:
    """Export to each format as out_dir/<name><suffix>; a file is written only after its parity
    check passed. -> {fmt: (path, max |diff|)}."""
    bad = [f for f in formats if f not in EXPORTERS]
    if bad:
        raise ExportError(f"unknown export format {bad[0]!r}; choose from: {', '.join(EXPORTERS)}")
    results = {}
    for fmt in formats:
        blob = EXPORTERS[fmt](model)
        diff = check_parity(model, blob, fmt)
        path = Path(out_dir) / f"{name}{SUFFIX[fmt]}"
        with atomic_write(path, "wb") as f:
            f.write(blob)
        results[fmt] = (path, diff)
        log.info("exported %s (max |diff| to eager %.2e)", path, diff)
    return results


def check_lengths_parity(model: nn.Module, blob: bytes, lengths: tuple[int, ...] = (300, 157, 41),
                         tol: float = PARITY_TOL) -> float:
    """Max |export(padded batch, lengths)[i] - eager(utterance i alone)| for a graph of
    onnx_bytes(..., lengths=True); raises ExportError above `tol`."""
    with _needs("onnxruntime"):
        import onnxruntime as ort
    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    model = copy.deepcopy(model).cpu().eval()
    gen = torch.Generator().manual_seed(2)
    x = torch.zeros(len(lengths), max(lengths), model.feat_dim)
    with torch.no_grad():
        for i, t in enumerate(lengths):
            x[i, :t] = torch.randn(t, model.feat_dim, generator=gen)
        ref = torch.cat([model(x[i:i + 1, :t]) for i, t in enumerate(lengths)]).numpy()
    out = sess.run(None, {"feats": x.numpy(), "lengths": np.asarray(lengths, dtype=np.int64)})[0]
    worst = float(np.abs(out - ref).max())
    if worst > tol:
        raise ExportError(f"onnx with lengths: max |diff| {worst:.2e} to eager PyTorch (one utterance at a "
                          f"time) exceeds {tol:.0e}")
    return worst


class OnnxRuntimeModel(nn.Module):
    """`model` exported to ONNX (onnx_bytes, BN folded) and run by ONNX Runtime on the
    CPU, as a module the extraction loop calls like the torch model: `pytorch.bin.extract --engine
    onnx`. The export's parity check (max |diff| to eager <= PARITY_TOL) runs first.
    ONNX Runtime fuses conv + bias + ReLU and plans its memory once per shape.
    With `lengths` (a model that accepts_lengths) a second graph takes padded batches,
    `forward(feats, lengths)`, parity-checked against one-utterance-at-a-time eager results."""

    def __init__(self, model: nn.Module, threads: int = 0, lengths: bool = False) -> None:
        super().__init__()
        with _needs("onnxruntime"):
            import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads or torch.get_num_threads(), 1
        blob = onnx_bytes(model)
        diff = check_parity(model, blob, "onnx")
        self.session = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
        self.padded = None
        if lengths:
            blob = onnx_bytes(model, lengths=True)
            diff = max(diff, check_lengths_parity(model, blob))
            self.padded = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
        self.embed_dim = model.embed_dim
        log.info("ONNX Runtime engine: max |diff| to eager %.1e", diff)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            return torch.from_numpy(self.session.run(None, {"feats": feats.cpu().numpy()})[0])
        if self.padded is None:
            raise ValueError("OnnxRuntimeModel: built without lengths=True, so it takes no lengths")
        return torch.from_numpy(self.padded.run(None, {"feats": feats.cpu().numpy(),
                                                       "lengths": lengths.cpu().numpy()})[0])
