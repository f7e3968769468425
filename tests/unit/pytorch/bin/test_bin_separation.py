"""pytorch.bin.train_separator and pytorch.bin.separate on a tiny mixture dir: each conditioning trains and
separates into a Kaldi data dir, embeddings come from ark/scp tables (speaker- or utterance-keyed enrollment,
[I1, I2] per mixture), a rerun resumes, and bad input is one line naming the file."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import yaml

from common.embeddings import write_embeddings
from common.io import read_kv, read_table
from pytorch.bin import separate, train_separator

SR = 16000
N = SR // 2
TINY = {"model": {"name": "voicefilter", "conv_channels": 2, "last_channels": 1, "kernels": [[1, 3], [3, 1]],
                  "dilations": [1, 2], "lstm_hidden": 4, "fc_dim": 8},
        "train": {"epochs": 1, "batch_size": 2, "chunk_seconds": 0.25, "num_threads": 1}}
SPKS = {"m1": ("spA", "spB"), "m2": ("spC", "spA"), "m3": ("spB", "spC")}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("sep")
    rng = np.random.default_rng(0)
    (root / "w").mkdir()
    mix = root / "mix"
    mix.mkdir()
    wav, src, spk = [], [], []
    for m, (a, b) in SPKS.items():
        s = 0.1 * rng.standard_normal((2, N))
        for name, x in (("s1", s[0]), ("s2", s[1]), ("mix", s.sum(0))):
            sf.write(root / "w" / f"{m}-{name}.wav", x, SR, subtype="FLOAT")
        wav.append(f"{m} {root / 'w' / f'{m}-mix.wav'}\n")
        src.append(f"{m} {root / 'w' / f'{m}-s1.wav'} {root / 'w' / f'{m}-s2.wav'}\n")
        spk.append(f"{m} {a} {b}\n")
    (mix / "wav.scp").write_text("".join(wav))
    (mix / "utt2sources").write_text("".join(src))
    (mix / "utt2spks").write_text("".join(spk))
    spks = ["spA", "spB", "spC"]
    write_embeddings(spks, rng.standard_normal((3, 6)), root / "spk.ark", root / "spk.scp")
    utts = [f"{s}-u{i}" for s in spks for i in range(2)]
    write_embeddings(utts, rng.standard_normal((6, 6)), root / "utt.ark", root / "utt.scp")
    (root / "utt2spk").write_text("".join(f"{u} {u[:3]}\n" for u in utts))
    write_embeddings(list(SPKS), rng.standard_normal((3, 12)), root / "mixemb.ark", root / "mixemb.scp")
    (root / "conf.yaml").write_text(yaml.safe_dump(TINY))
    return root


def _train(root, cond, exp, *extra):
    emb = {"enroll": ["--embeddings", str(root / "utt.scp"), "--enroll-utt2spk", str(root / "utt2spk")],
           "mixture": ["--embeddings", str(root / "mixemb.scp")], "none": []}[cond]
    return train_separator.main(["--config", str(root / "conf.yaml"), "--conditioning", cond, "--data",
                                 str(root / "mix"), "--exp", str(exp), *emb, *extra])


@pytest.mark.parametrize("cond,emb", [("enroll", "spk.scp"), ("mixture", "mixemb.scp"), ("none", None)])
def test_each_conditioning_trains_and_separates(corpus, tmp_path, cond, emb):
    exp = tmp_path / cond
    assert _train(corpus, cond, exp) == 0
    assert (exp / "models" / "epoch_1.pt").is_file()
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    assert cfg["data"]["conditioning"] == cond and cfg["data"]["embed_dim"] == (0 if cond == "none" else 6)
    out = tmp_path / "out"
    args = ["--model", str(exp), "--data", str(corpus / "mix"), "--out", str(out), "--num-threads", "1"]
    assert separate.main(args + (["--embeddings", str(corpus / emb)] if emb else [])) == 0
    scp = read_kv(out / "wav.scp")
    assert sorted(scp) == [f"{m}-{k}" for m in sorted(SPKS) for k in (1, 2)]
    assert read_table(out / "utt2mix", 3)[:2] == [["m1-1", "m1", "1"], ["m1-2", "m1", "2"]]
    x, sr = sf.read(scp["m2-2"])
    assert sr == SR and len(x) == N and np.abs(x).max() > 0
    assert read_kv(out / "utt2spk")["m3-1"] == "m3-1"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]   # no temp dir left behind


def test_resume_and_config_change(corpus, tmp_path, capsys):
    exp = tmp_path / "x"
    assert _train(corpus, "none", exp) == 0
    assert _train(corpus, "none", exp, "--set", "train.epochs=2") == 0       # trains on from epoch 1
    assert sorted(p.name for p in (exp / "models").iterdir()) == ["epoch_1.pt", "epoch_2.pt"]
    assert _train(corpus, "none", exp, "--set", "train.lr=0.5") == 1
    assert "trained with another config" in capsys.readouterr().err


def test_bad_input_is_one_line(corpus, tmp_path, capsys):
    assert _train(corpus, "mixture", tmp_path / "a", "--embeddings", str(corpus / "spk.scp")) == 1
    assert "spk.scp: no embedding for mixture 'm1'" in capsys.readouterr().err   # keyed by speaker
    assert not (tmp_path / "a" / "models").exists()
    exp = tmp_path / "b"
    assert _train(corpus, "enroll", exp) == 0
    args = ["--model", str(exp), "--data", str(corpus / "mix"), "--out", str(tmp_path / "o")]
    assert separate.main(args) == 1
    assert "needs --embeddings" in capsys.readouterr().err
    assert separate.main(args + ["--embeddings", str(corpus / "mixemb.scp")]) == 1
    assert "embeddings of dim 12, the separator" in capsys.readouterr().err
    assert separate.main(args + ["--embeddings", str(corpus / "utt.scp")]) == 1   # keyed by utterance
    assert "no enrollment embedding for speaker 'spA'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_conditioner_rows(corpus):
    from common.embeddings import load_embeddings
    from pytorch.data.separation import Conditioner
    keys, x = load_embeddings(str(corpus / "utt.scp"))
    cond = Conditioner("enroll", str(corpus / "utt.scp"), str(corpus / "utt2spk"))
    e = cond("m2", ["spC", "spA"])                               # no rng: each speaker's first utterance
    want = x[[keys.index("spC-u0"), keys.index("spA-u0")]]
    assert np.allclose(e, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-6)
    drawn = {tuple(cond("m2", ["spC", "spA"], np.random.default_rng(s))[0]) for s in range(20)}
    assert len(drawn) == 2                                        # training draws among spC's two utterances
    _, mx = load_embeddings(str(corpus / "mixemb.scp"))
    m = Conditioner("mixture", str(corpus / "mixemb.scp"))("m1", ["spA", "spB"])
    assert m.shape == (2, 6) and np.allclose(np.linalg.norm(m, axis=1), 1)
    assert np.allclose(m[1] * np.linalg.norm(mx[0, 6:]), mx[0, 6:], atol=1e-5)   # [I1, I2] split in halves
    assert Conditioner("none")("m1", ["spA", "spB"]).shape == (2, 0)
