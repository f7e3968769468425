"""data.cmn_window (Kaldi sliding CMN of the whole utterance before VAD) and extract.use_vad: the
input rule of ASV-Subtools' CNSRC baseline (train on voiced frames of sliding-CMN'd features,
extract from all frames)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

import pytorch.bin.extract as extract_cli
from common.embeddings import load_embeddings
from common.errors import ConfigError
from common.registry import build_options
from pytorch.data.datadir import DataDir
from pytorch.data.extraction import feats_source
from pytorch.data.feats_dataset import build_feats_dataset
from pytorch.data.options import AugmentOptions, DataOptions, ExtractOptions
from tests.unit.pytorch.data.test_data_extract import TinyXvector
from tests.unit.pytorch.features.test_features_cmvn import kaldi_sliding

WINDOW = 10          # shorter than the utterances, so the windows slide and clip at both ends
LENGTHS = {"a1": ("a", 37), "a2": ("a", 23), "b1": ("b", 30)}


def _vad(lengths):
    rng = np.random.default_rng(5)
    return {u: rng.random(n) > 0.4 for u, (_, n) in lengths.items()}


def _expected(mat: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """By hand: sliding CMN (Kaldi's window loop, centred) of every frame, then the voiced ones."""
    out = kaldi_sliding(mat.astype(np.float64), cmn_window=WINDOW, center=True)
    return out if mask is None else out[mask]


def test_training_chunks_are_sliding_cmn_before_vad(feats_dir_factory):
    vad = _vad(LENGTHS)
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=4, vad=vad)
    num_frames = int(vad["a1"].sum())     # a1 fits exactly: its chunk is all of its voiced frames
    opts = build_options(DataOptions, {"num_frames": num_frames, "cmn_window": WINDOW}, "data")
    ts = build_feats_dataset(DataDir(d), opts, AugmentOptions(), {"a": 0, "b": 1}, True, {})
    ds = ts.dataset
    i = ds.index.utts.index("a1")
    got = ds[(i, 0)]["feats"].numpy()
    want = _expected(mats["a1"], vad["a1"])
    np.testing.assert_allclose(got, want, atol=1e-5)
    # Not the per-chunk CMN of VAD-selected frames (the default rule), which differs here.
    voiced = mats["a1"][vad["a1"]]
    assert np.abs(got - (voiced - voiced.mean(axis=0))).max() > 1e-2
    # Shorter utterances (repetition) and random crops come from the same normalised frames.
    short = ds.index.utts.index("a2")
    np.testing.assert_allclose(ds[(short, 1)]["feats"].numpy()[:int(vad["a2"].sum())],
                               _expected(mats["a2"], vad["a2"]), atol=1e-5)


@pytest.mark.parametrize("use_vad", [True, False])
def test_extraction_source_is_sliding_cmn_before_vad(feats_dir_factory, use_vad):
    vad = _vad(LENGTHS)
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=4, vad=vad)
    src = feats_source(DataDir(d), use_vad, cmn_window=WINDOW)
    for u, m in mats.items():
        np.testing.assert_allclose(src.load(u), _expected(m, vad[u] if use_vad else None), atol=1e-5)


def _exp(tmp_path, data: dict, extract: dict):
    exp = tmp_path / "exp"
    (exp / "models").mkdir(parents=True)
    cfg = {"data": {"train": "unused", "num_frames": 20, **data}, "extract": {"batch_size": 2, **extract}}
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg))
    return exp


@pytest.mark.parametrize("cmn_window", [0, WINDOW])
def test_extract_without_vad_when_extract_use_vad_is_false(tmp_path, feats_dir_factory, monkeypatch, cmn_window):
    """data.use_vad (training) stays true; extract.use_vad: false extracts from all frames."""
    vad = _vad(LENGTHS)
    d, mats = feats_dir_factory(lengths=LENGTHS, dim=4, vad=vad)
    exp = _exp(tmp_path, {"use_vad": True, "cmn_window": cmn_window}, {"use_vad": False})
    model = TinyXvector().eval()
    monkeypatch.setattr(extract_cli, "load_model", lambda e, c, dev: model)
    out = tmp_path / "emb"
    assert extract_cli.main(["--exp", str(exp), "--data", str(d), "--out", str(out)]) == 0
    emb = dict(zip(*load_embeddings(out / "xvector.scp")))
    frames = dict(line.split() for line in (out / "utt2num_frames").read_text().splitlines())
    assert frames == {u: str(n) for u, (_, n) in LENGTHS.items()}
    with torch.no_grad():
        for u, m in mats.items():
            x = _expected(m, None) if cmn_window else m - m.mean(axis=0)
            want = model(torch.from_numpy(x.astype(np.float32))[None])[0].numpy()
            np.testing.assert_allclose(emb[u], want, atol=1e-5)


def test_extract_use_vad_follows_data_use_vad_by_default(tmp_path, feats_dir_factory, monkeypatch):
    vad = _vad(LENGTHS)
    d, _ = feats_dir_factory(lengths=LENGTHS, dim=4, vad=vad)
    monkeypatch.setattr(extract_cli, "load_model", lambda e, c, dev: TinyXvector().eval())
    out = tmp_path / "emb"
    assert extract_cli.main(["--exp", str(_exp(tmp_path, {"use_vad": True}, {})), "--data", str(d),
                             "--out", str(out)]) == 0
    frames = dict(line.split() for line in (out / "utt2num_frames").read_text().splitlines())
    assert frames == {u: str(int(vad[u].sum())) for u in LENGTHS}


@pytest.mark.parametrize("section, match", [
    ({"cmn": False, "cmn_window": 300}, "needs cmn: true"),
    ({"mode": "wave", "cmn_window": 300}, "mode: feats"),
    ({"cmn_window": -1}, "cmn_window"),
])
def test_bad_cmn_window_is_refused(section, match):
    with pytest.raises(ConfigError, match=match):
        build_options(DataOptions, section, "data")


def test_extract_use_vad_must_be_a_bool_or_null():
    assert build_options(ExtractOptions, {"use_vad": None}, "extract").use_vad is None
    with pytest.raises(ConfigError, match="extract.use_vad"):
        build_options(ExtractOptions, {"use_vad": 1}, "extract")
