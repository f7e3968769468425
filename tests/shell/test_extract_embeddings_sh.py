"""utils/extract_embeddings.sh end to end: split by utterance, jobs through run.pl, merge, speaker
means; the merged tables equal a single-job extraction."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from common.embeddings import load_embeddings
from common.io import read_kv

ROOT = Path(__file__).resolve().parents[2]
UTILS = ROOT / "utils"
NEEDED = ["parse_options.sh", "run.pl", "split_data.sh"]
MODEL = {"name": "ecapa_tdnn", "feat_dim": 5, "embed_dim": 8, "channels": 16}


def _have_models() -> bool:
    if importlib.util.find_spec("pytorch.models") is None or \
            importlib.util.find_spec("pytorch.training") is None or \
            importlib.util.find_spec("pytorch.training.checkpoint") is None:
        return False
    from pytorch.models import MODELS
    return MODEL["name"] in MODELS


pytestmark = [
    pytest.mark.skipif(any(not (UTILS / f).exists() for f in NEEDED), reason="utils/ job tools not present"),
    pytest.mark.skipif(not _have_models(), reason="pytorch.models / pytorch.training.checkpoint not present"),
]


def _run(*args, check=True):
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{UTILS}:{Path(sys.executable).parent}:{env['PATH']}"
    p = subprocess.run(["bash", *map(str, args)], env=env, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _setup(tmp_path, nan_utt=None):
    from pytorch.config import save_resolved
    from pytorch.models import build_model
    torch.manual_seed(0)
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    utts = {f"s{k}-u{j}": f"s{k}" for k in range(3) for j in range(3)}
    with kaldiio.WriteHelper(f"ark,scp:{data}/feats.ark,{data}/feats.scp") as w:
        for u in sorted(utts):
            mat = rng.standard_normal((30 + 5 * len(u) + int(u[-1]) * 7, 5)).astype(np.float32)
            if u == nan_utt:
                mat[3, 1] = np.nan
            w(u, mat)
    (data / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utts.items())))
    spk2utt: dict[str, list[str]] = {}
    for u, s in sorted(utts.items()):
        spk2utt.setdefault(s, []).append(u)
    (data / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    exp = tmp_path / "exp"
    cfg = {"data": {"train": str(data), "num_frames": 20}, "model": dict(MODEL),
           "extract": {"max_chunk_frames": 25, "batch_size": 4}}
    save_resolved(cfg, exp / "config.yaml", ["test"])
    model = build_model(MODEL)
    (exp / "models").mkdir()
    torch.save({"model": model.state_dict(), "epochs": [1], "config": cfg}, exp / "models" / "avg.pt")
    return exp, data, spk2utt


def test_parallel_extraction_equals_in_process_extraction(tmp_path):
    from pytorch.data.datadir import DataDir
    from pytorch.data.extraction import extract_embeddings, feats_source
    from pytorch.training.checkpoint import load_model
    exp, data, spk2utt = _setup(tmp_path)
    _run(UTILS / "extract_embeddings.sh", "--nj", 2, exp, data, tmp_path / "emb")
    emb = _read(tmp_path / "emb/xvector.scp")
    src = feats_source(DataDir(data), use_vad=True)
    ref, frames = extract_embeddings(load_model(str(exp), "avg"), src, max_chunk_frames=25, batch_size=1)
    assert sorted(emb) == src.utts
    np.testing.assert_allclose(np.stack([emb[u] for u in src.utts]), ref, atol=1e-4)
    spk = _read(tmp_path / "emb/spk_xvector.scp")
    for s, us in spk2utt.items():
        np.testing.assert_allclose(spk[s], np.mean([emb[u] for u in us], axis=0), atol=1e-5)
    assert read_kv(tmp_path / "emb/utt2num_frames") == {u: str(n) for u, n in zip(src.utts, frames)}
    assert all((tmp_path / f"emb/log/extract.{j}.log").exists() for j in (1, 2))

    p = _run(UTILS / "extract_embeddings.sh", "--nj", 1, "--checkpoint", "epoch_9", exp, data,
             tmp_path / "emb", check=False)
    assert p.returncode != 0 and "log/extract" in p.stderr
    assert not (tmp_path / "emb/xvector.scp").exists()  # the old table is gone, not left looking complete


def test_nan_features_fail_naming_the_utterance(tmp_path):
    """A NaN frame would give a NaN embedding and NaN speaker means that score as if nothing was wrong."""
    exp, data, _ = _setup(tmp_path, nan_utt="s1-u2")
    p = _run(UTILS / "extract_embeddings.sh", "--nj", 1, exp, data, tmp_path / "emb", check=False)
    assert p.returncode != 0
    assert "'s1-u2'" in p.stderr and "NaN or inf" in p.stderr
    assert not (tmp_path / "emb/xvector.scp").exists() and not (tmp_path / "emb/spk_xvector.scp").exists()


def _read(scp):
    return dict(zip(*load_embeddings(scp)))
