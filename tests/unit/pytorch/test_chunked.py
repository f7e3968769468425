"""pytorch.chunked: the embedding of a long input computed chunk by chunk equals the whole-signal
embedding (SE blocks and attentive/statistics pooling are global over time, so this needs their
statistics accumulated over chunks), and the extraction pipeline uses it for long utterances."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from common.embeddings import load_embeddings
from pytorch.bin import extract
from pytorch.chunked import embed_long, supports_long
from pytorch.data.datadir import DataDir
from pytorch.data.extraction import extract_embeddings, feats_source, long_utterances, wave_source
from pytorch.inference import prepare_for_inference
from pytorch.interchange import write_experiment
from pytorch.interchange.sections import system_config
from pytorch.models import build_model
from tests.unit.pytorch.conftest import random_bn_model
from tests.unit.pytorch.data.conftest import write_feats_dir

TINY_ECAPA = {"name": "ecapa_tdnn", "feat_dim": 24, "channels": 32, "mfa_channels": 48, "se_bottleneck": 8}
MODELS = {
    "ecapa_global_context": {**TINY_ECAPA, "pooling": {"name": "asp", "hidden": 8, "global_context": True}},
    "ecapa_asp_wespeaker_std": {**TINY_ECAPA, "pooling": {"name": "asp", "hidden": 8, "global_context": False,
                                                          "std": {"two_pass": False}}},
    "se_resnet_tsp": {"name": "resnet", "feat_dim": 24, "depth": 10, "base_channels": 4, "se": True},
    "resnet_tsp_unbiased": {"name": "resnet", "feat_dim": 24, "depth": 10, "base_channels": 4,
                            "pooling": {"name": "tsp", "std": {"unbiased": True, "floor_mode": "add"}}},
    "resnet_tap": {"name": "resnet", "feat_dim": 24, "depth": 10, "base_channels": 4, "pooling": "tap"},
    "resnet_asp": {"name": "resnet", "feat_dim": 24, "depth": 10, "base_channels": 4,
                   "pooling": {"name": "asp", "hidden": 8}},
}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def trained_like(cfg: dict) -> nn.Module:
    """Random weights and BN statistics, BN folded (what extraction runs)."""
    return prepare_for_inference(random_bn_model(cfg), script=False)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("frames", [1203, 97])   # not a multiple of the stride; shorter than a chunk
def test_chunked_equals_whole_signal(name, frames):
    model = trained_like(MODELS[name])
    x = torch.randn(frames, 24, generator=torch.Generator().manual_seed(1)) + 0.3
    with torch.inference_mode():
        whole = model(x[None])
    reads = []

    def read(a, b):
        reads.append(b - a)
        return x[a:b]
    chunked = embed_long(model, read, frames, chunk=160)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), atol=2e-6, rtol=0)
    assert max(reads) <= 160 + 2 * 200       # a chunk and its context, never the whole input


def test_chunks_see_only_their_context():
    """The chunks really are bounded: a change far from a frame does not reach the frame-level
    layers of another chunk, so the global statistics are what carry it (and they do)."""
    model = trained_like(MODELS["ecapa_global_context"])
    x = torch.randn(2000, 24, generator=torch.Generator().manual_seed(2))
    y = x.clone()
    y[1990:] += 3.0
    with torch.inference_mode():
        assert (model(x[None]) - model(y[None])).abs().max() > 1e-4    # 50x the tolerance below
    np.testing.assert_allclose(embed_long(model, lambda a, b: y[a:b], 2000, 200).numpy(),
                               model(y[None]).detach().numpy(), atol=2e-6, rtol=0)


def test_unsupported_models_are_refused():
    tdnn = build_model({"name": "tdnn", "feat_dim": 24}).eval()      # unpadded: T shrinks, not local
    mqmha = trained_like({**TINY_ECAPA, "pooling": {"name": "mqmha", "heads": 4}})
    scripted = prepare_for_inference(trained_like(MODELS["resnet_tap"]))
    assert not any(supports_long(m) for m in (tdnn, mqmha, scripted))
    with pytest.raises(ValueError, match="chunk by chunk"):
        embed_long(mqmha, lambda a, b: torch.zeros(b - a, 24), 500, 100)


def test_feats_source_reads_voiced_ranges_like_load(tmp_path):
    rng = np.random.default_rng(0)
    vad = {"a": rng.random(500) > 0.3, "b": np.zeros(40, bool)}
    write_feats_dir(tmp_path / "d", {"a": ("s", 500), "b": ("s", 40)}, dim=6, vad=vad)
    src = feats_source(DataDir(tmp_path / "d"), use_vad=True)
    for u in src.utts:
        whole = src.load(u)
        n = src.lengths[u]
        for a in (0, 17, n - 9):
            np.testing.assert_array_equal(src.read(u, a, 30), whole[a:a + 30])
    assert feats_source(DataDir(tmp_path / "d"), use_vad=True, cmn_window=300).read is None


def _wave_dir(path, seconds):
    path.mkdir()
    rng = np.random.default_rng(3)
    for u, sec in seconds.items():
        sf.write(path / f"{u}.wav", (rng.standard_normal(int(sec * 16000)) * 0.1).astype(np.float32), 16000,
                 subtype="FLOAT")
    (path / "wav.scp").write_text("".join(f"{u} {path / u}.wav\n" for u in sorted(seconds)))
    (path / "utt2spk").write_text("".join(f"{u} s\n" for u in sorted(seconds)))
    (path / "spk2utt").write_text("s " + " ".join(sorted(seconds)) + "\n")
    return DataDir(path)


def test_wave_source_frame_ranges_equal_the_whole_fbank(tmp_path):
    src = wave_source(_wave_dir(tmp_path / "w", {"long": 7.3}), {"num_mel_bins": 24})
    whole = src.load("long")
    assert whole.shape[0] == src.lengths["long"]
    for a, n in ((0, 100), (333, 250), (src.lengths["long"] - 50, 80)):
        np.testing.assert_allclose(src.read("long", a, n), whole[a:a + n], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["ecapa_global_context", "se_resnet_tsp"])
def test_extraction_of_long_utterances_equals_whole(tmp_path, name):
    dd = _wave_dir(tmp_path / "w", {"long1": 9.1, "long2": 6.0, "short": 1.2})
    src = wave_source(dd, {"num_mel_bins": 24})
    model = trained_like(MODELS[name])
    assert [src.utts[i] for i in long_utterances(src, 0, 300)] == ["long1", "long2"]
    assert long_utterances(src, 200, 300) == []          # fixed-length chunks are bounded already
    whole, frames = extract_embeddings(model, src, 0, batch_size=2)
    chunked, frames2 = extract_embeddings(model, src, 0, batch_size=2, long_model=model, long_frames=300,
                                          long_chunk=128)
    np.testing.assert_allclose(chunked, whole, atol=5e-6, rtol=0)
    assert frames.tolist() == frames2.tolist()


def test_long_piped_utterance_runs_its_command_once(tmp_path):
    """A pipe in wav.scp: the chunked pass reads many ranges of a long recording, from the pipe's
    output on disk, so the command runs once per recording; the embeddings equal the plain files'."""
    dd = _wave_dir(tmp_path / "w", {"long1": 9.1, "short": 1.2})
    runs = tmp_path / "runs"
    piped = tmp_path / "p"
    piped.mkdir()
    for f in ("utt2spk", "spk2utt"):
        (piped / f).write_text((dd.path / f).read_text())
    (piped / "wav.scp").write_text("".join(f"{u} echo {u} >> {runs}; cat {dd.path / u}.wav |\n"
                                           for u in ("long1", "short")))
    model = trained_like(MODELS["ecapa_global_context"])
    embs = {}
    for name, d in (("file", dd), ("pipe", DataDir(piped))):
        src = wave_source(d, {"num_mel_bins": 24})
        if name == "pipe":    # without utt2dur, the durations came from running each command once
            assert sorted(runs.read_text().split()) == ["long1", "short"]
            runs.unlink()
        embs[name], _ = extract_embeddings(model, src, 0, batch_size=2, long_model=model, long_frames=300,
                                           long_chunk=128)
    np.testing.assert_array_equal(embs["pipe"], embs["file"])
    # again at most once each ("short" may still be in the file from the durations), not once per chunk read
    assert runs.read_text().split() in (["long1"], ["short", "long1"], ["long1", "short"])


def test_cli_long_recordings_and_onnx_engine_give_the_same_embeddings(tmp_path):
    """pytorch.bin.extract: --long-frames (chunked) and --engine onnx against the whole-signal run."""
    cfg = system_config(data={"mode": "wave", "cmn": True, "num_frames": 200},
                        features={"name": "fbank", "num_mel_bins": 24}, model=MODELS["ecapa_global_context"])
    torch.manual_seed(0)
    write_experiment(tmp_path / "exp", cfg, build_model(cfg["model"]).state_dict())
    _wave_dir(tmp_path / "w", {"long": 8.0, "short": 1.5})
    runs = {"whole": ["--long-frames", "0"], "chunked": ["--long-frames", "300", "--long-chunk-frames", "128"],
            "onnx": ["--engine", "onnx", "--long-frames", "0"]}
    embs = {}
    for name, extra in runs.items():
        out = tmp_path / name
        assert extract.main(["--exp", str(tmp_path / "exp"), "--data", str(tmp_path / "w"), "--out", str(out),
                             "--num-threads", "1", *extra]) == 0
        embs[name] = load_embeddings(out / "xvector.scp")[1]
    np.testing.assert_allclose(embs["chunked"], embs["whole"], atol=5e-6, rtol=0)
    np.testing.assert_allclose(embs["onnx"], embs["whole"], atol=1e-4, rtol=0)
