"""Small fake Kaldi data dirs for the data-loading tests."""
from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def write_feats_dir(path: Path, lengths: dict[str, tuple[str, int]], dim: int = 5, seed: int = 0,
                    compress: bool = False, vad: dict[str, np.ndarray] | None = None,
                    dims: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """utt -> (spk, frames): writes utt2spk, spk2utt, feats.ark/scp (and vad.ark/scp).

    Returns the matrices."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mats = {u: rng.standard_normal((n, (dims or {}).get(u, dim))).astype(np.float32)
            for u, (_, n) in sorted(lengths.items())}
    method = 2 if compress else None  # kaldiio compression method 2 = CM (Kaldi's speech-feature)
    with kaldiio.WriteHelper(f"ark,scp:{path}/feats.ark,{path}/feats.scp", compression_method=method) as w:
        for u, m in mats.items():
            w(u, m)
    if vad is not None:
        with kaldiio.WriteHelper(f"ark,scp:{path}/vad.ark,{path}/vad.scp") as w:
            for u in mats:
                w(u, vad[u].astype(np.float32))
    (path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, (s, _) in sorted(lengths.items())))
    spk2utt: dict[str, list[str]] = {}
    for u, (s, _) in sorted(lengths.items()):
        spk2utt.setdefault(s, []).append(u)
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return mats


@pytest.fixture
def feats_dir_factory(tmp_path):
    def make(name: str = "train", **kw):
        d = tmp_path / name
        return d, write_feats_dir(d, **kw)
    return make
