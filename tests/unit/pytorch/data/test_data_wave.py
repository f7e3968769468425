import numpy as np
import pytest
import soundfile as sf
import torch

from pytorch.data.audio import AudioError, read_range
from pytorch.data.builder import build_train_data
from pytorch.features import Fbank

RATE = 8000
FEATS = {"sample_frequency": RATE, "num_mel_bins": 10, "dither": 0.0}


def _wav_dir(path, utts, seed=0):
    """utt -> (spk, seconds): one wav per utterance, plus wav.scp, utt2spk, utt2dur."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for u, (_, sec) in sorted(utts.items()):
        f = path / f"{u}.wav"
        sf.write(f, (rng.standard_normal(int(sec * RATE)) * 0.1).astype(np.float32), RATE, subtype="FLOAT")
        lines.append(f"{u} {f}\n")
    (path / "wav.scp").write_text("".join(lines))
    (path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, (s, _) in sorted(utts.items())))
    (path / "utt2dur").write_text("".join(f"{u} {sec}\n" for u, (_, sec) in sorted(utts.items())))
    return path


UTTS = {f"s{k}-u{j}": (f"s{k}", 0.2 + 0.1 * j) for k in range(3) for j in range(4)}


def _cfg(d, workers=0, fbank_on="cpu", augment=None):
    return {"data": {"train": str(d), "mode": "wave", "num_frames": 20, "fbank_on": fbank_on},
            "features": dict(FEATS), "augment": augment or {},
            "train": {"batch_size": 3, "num_workers": workers, "seed": 2}}


def test_read_range_reads_only_the_piece_and_reports_missing(tmp_path):
    d = _wav_dir(tmp_path / "w", {"a-1": ("a", 0.5)})
    full, _ = sf.read(d / "a-1.wav", dtype="float32")
    np.testing.assert_array_equal(read_range(str(d / "a-1.wav"), 100, 50, "a-1", RATE), full[100:150])
    with pytest.raises(AudioError, match="a-9.*not found"):
        read_range(str(d / "a-9.wav"), 0, 10, "a-9", RATE)


def test_cpu_fbank_equals_fbank_of_the_segment(tmp_path):
    d = _wav_dir(tmp_path / "train", UTTS)
    cfg = _cfg(d)
    cfg["data"]["cmn"] = False
    td = build_train_data(cfg)
    assert td.feat_dim == 10 and td.num_classes == 3
    ds = td.dataset
    item = ds[(5, 77)]
    assert item["feats"].shape == (20, 10)
    # Same seed -> same piece; recompute its fbank directly from the file.
    n = ds.num_samples
    rng = np.random.default_rng(77)
    e = ds.entries[5]
    start = int(rng.integers(0, e.num_samples - n + 1))
    x, _ = sf.read(e.rspec, dtype="float32")
    ref = Fbank(**FEATS)(torch.from_numpy(x[start:start + n] * 32768.0))
    torch.testing.assert_close(item["feats"], ref, atol=1e-4, rtol=1e-5)


def test_device_fbank_matches_cpu_fbank_and_workers_do_not_matter(tmp_path):
    d = _wav_dir(tmp_path / "train", UTTS)
    cpu = build_train_data(_cfg(d, 0, "cpu"))
    dev = build_train_data(_cfg(d, 2, "device"))
    for bc, bd in zip(cpu.loader, dev.loader):
        assert "wave" in bd and bd["wave"].shape == (3, cpu.dataset.num_samples)
        fc, lc = cpu.to_features(bc, "cpu")
        fd, ld = dev.to_features(bd, "cpu")
        torch.testing.assert_close(fc, fd, atol=1e-3, rtol=1e-4)
        assert torch.equal(lc, ld)


def test_augmented_wave_mode_with_speed_and_all_types(tmp_path):
    d = _wav_dir(tmp_path / "train", UTTS)
    noise = _wav_dir(tmp_path / "musan_noise", {"noise-a": ("noise-a", 1.0)}, seed=1)
    speech = _wav_dir(tmp_path / "musan_speech", {f"sp-{i}": (f"sp-{i}", 0.7) for i in range(4)}, seed=2)
    rirs = tmp_path / "rirs"
    rirs.mkdir()
    rir = np.zeros(400, np.float32)
    rir[10], rir[60] = 1.0, 0.4
    sf.write(rirs / "r1.wav", rir, RATE, subtype="FLOAT")
    (rirs / "wav.scp").write_text(f"r1 {rirs / 'r1.wav'}\n")
    aug = {"noise": {"data": str(noise), "prob": 0.25}, "babble": {"data": str(speech), "prob": 0.25},
           "reverb": {"data": str(rirs), "prob": 0.25}, "speed": {"prob": 0.5},
           "specaug": {"prob": 0.5}}
    a = build_train_data(_cfg(d, 0, augment=aug))
    b = build_train_data(_cfg(d, 2, augment=aug))
    assert a.num_classes == 9 and a.spk2id["sp0.9-s1"] == 4 and a.spk2id["sp1.1-s2"] == 8
    labels = []
    for epoch in range(3):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        for ba, bb in zip(a.loader, b.loader):
            assert torch.equal(ba["feats"], bb["feats"])
            labels += ba["label"].tolist()
    assert max(labels) >= 3 and min(labels) < 3  # speed-perturbed speakers appear
    bad = dict(aug, music={"prob": 0.1})
    with pytest.raises(Exception, match="augment.music"):
        build_train_data(_cfg(d, augment=bad))


def test_missing_wav_names_utt_and_path(tmp_path):
    d = _wav_dir(tmp_path / "train", UTTS)
    (d / "s1-u2.wav").unlink()
    td = build_train_data(_cfg(d))
    with pytest.raises(AudioError, match="s1-u2.*s1-u2.wav"):
        td.dataset[(td.dataset.entries.index(next(e for e in td.dataset.entries if e.utt == "s1-u2")), 1)]


def test_piped_training_audio_is_pointed_to_decode_pipes(tmp_path, caplog):
    d = _wav_dir(tmp_path / "train", UTTS)
    build_train_data(_cfg(d))
    assert "decode_pipes" not in caplog.text
    scp = d / "wav.scp"
    scp.write_text("".join(f"{u} cat {p} |\n" if u.endswith("-u1") else f"{u} {p}\n"
                           for u, p in (ln.split() for ln in scp.read_text().splitlines())))
    build_train_data(_cfg(d))
    assert "3 of 12 training utterances are read through wav.scp pipes" in caplog.text
    assert f"utils/decode_pipes.sh {d} <audio-dir>" in caplog.text


def test_wave_mode_extraction_is_fbank_of_the_whole_utterance(tmp_path):
    from pytorch.data.datadir import DataDir
    from pytorch.data.extraction import extract_embeddings, wave_source
    d = _wav_dir(tmp_path / "test", {"a-1": ("a", 0.3), "b-1": ("b", 0.45)})

    class MeanStd(torch.nn.Module):
        def forward(self, x):
            return torch.cat([x.mean(1), x.std(1)], dim=1)
    model = MeanStd()
    src = wave_source(DataDir(d), dict(FEATS, dither=1.0))  # extraction turns dither off
    emb, frames = extract_embeddings(model, src, 0, 4, apply_cmn=False)
    fb = Fbank(**FEATS)
    for i, u in enumerate(src.utts):
        x, _ = sf.read(d / f"{u}.wav", dtype="float32")
        ref = fb(torch.from_numpy(x * 32768.0))
        assert frames[i] == ref.shape[0]
        np.testing.assert_allclose(emb[i], model(ref[None])[0].numpy(), atol=1e-4)
