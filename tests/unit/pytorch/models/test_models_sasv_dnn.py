"""The B2 embedding-fusion DNN (pytorch/models/sasv_dnn.py) and its two CLIs on synthetic embeddings where
spoofs copy the claimed speaker's ASV embedding and only the CM embedding tells them apart: B2 learns to
reject them (SASV-EER far below the ASV cosine's), shapes and options are checked, and scoring writes
one line per trial."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from common.eer import eer
from common.embeddings import write_embeddings
from common.errors import ConfigError
from pytorch.bin import score_sasv_dnn, train_sasv_dnn
from pytorch.models.sasv_dnn import SASV_MODELS, SasvDNN, build_sasv_model

ASV, CM = 16, 8


def test_shapes_and_options():
    m = build_sasv_model({"name": "b2", "hidden": [32, 16, 8]}, asv_dim=ASV, cm_dim=CM)
    assert isinstance(m, SasvDNN) and "b2" in SASV_MODELS
    assert [layer.out_features for layer in m.layers] == [32, 16, 8] and m.layers[0].in_features == 2 * ASV + CM
    e, t, c = torch.randn(5, ASV), torch.randn(5, ASV), torch.randn(5, CM)
    assert m(e, t, c).shape == (5, 2) and m.score(e, t, c).shape == (5,)
    with pytest.raises(ValueError, match="cm embeddings"):
        m(e, t, torch.randn(5, CM + 1))
    with pytest.raises(ConfigError):
        build_sasv_model({"name": "b2", "asv_dim": 3}, asv_dim=ASV, cm_dim=CM)   # runtime key in config
    with pytest.raises(ConfigError):
        build_sasv_model({"name": "b2", "hidden": []}, asv_dim=ASV, cm_dim=CM)
    # with l2norm the score ignores the embeddings' lengths; without it, it does not
    torch.manual_seed(0)
    for l2, same in ((True, True), (False, False)):
        m = SasvDNN(ASV, CM, l2norm=l2).eval()
        a, b = m.score(e, t, c), m.score(3 * e, 0.5 * t, 2 * c)
        assert torch.allclose(a, b, atol=1e-5) == same


def _world(seed: int, n_spk: int, utts: int, spoofs: int, rng_centres: np.random.Generator):
    """Speaker centres in ASV space; bona fide ASV = centre + noise; a spoof's ASV embedding is its claimed
    speaker's centre + noise (it fools the ASV); CM embeddings: bona fide around +mu, spoof around -mu."""
    rng = np.random.default_rng(seed)
    centres = rng_centres.standard_normal((n_spk, ASV)) * 2
    mu = np.ones(CM)
    utt2spk, u2a, asv, cm = {}, {}, {}, {}
    for s in range(n_spk):
        for i in range(utts + spoofs):
            bona = i < utts
            u = f"{seed}s{s:02d}-{'b' if bona else 'x'}{i:02d}"
            utt2spk[u], u2a[u] = f"spk{s:02d}", "bonafide" if bona else "A01"
            asv[u] = centres[s] + 0.7 * rng.standard_normal(ASV)
            cm[u] = (mu if bona else -mu) + 1.5 * rng.standard_normal(CM)
    return utt2spk, u2a, asv, cm


def _write(d: Path, utt2spk, u2a, asv, cm) -> None:
    d.mkdir(parents=True)
    for name, table in (("utt2spk", utt2spk), ("utt2attack", u2a)):
        (d / name).write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())))
    write_embeddings(list(asv), list(asv.values()), str(d / "asv.ark"), str(d / "asv.scp"))
    write_embeddings(list(cm), list(cm.values()), str(d / "cm.ark"), str(d / "cm.scp"))


def test_b2_learns_to_reject_spoofs_that_fool_the_asv(tmp_path):
    torch.set_num_threads(1)
    train = _world(1, 40, 6, 3, np.random.default_rng(10))
    _write(tmp_path / "train", *train)
    # test: new speakers (own centres), enrolled by their mean bona fide embedding
    utt2spk, u2a, asv, cm = _world(2, 6, 6, 4, np.random.default_rng(20))
    enroll = {s: np.mean([asv[u] for u in utt2spk if utt2spk[u] == s and u2a[u] == "bonafide"][:3], axis=0)
              for s in sorted(set(utt2spk.values()))}
    test = [u for u in utt2spk if not (u2a[u] == "bonafide" and int(u[-2:]) < 3)]   # not the enrollment utts
    trials = [(s, u, ("target" if u2a[u] == "bonafide" else "spoof") if utt2spk[u] == s else "nontarget")
              for s in enroll for u in test if u2a[u] == "bonafide" or utt2spk[u] == s]
    (tmp_path / "trials").write_text("".join(f"{a} {b} {c}\n" for a, b, c in trials))
    write_embeddings(list(enroll), list(enroll.values()), str(tmp_path / "enroll.ark"), str(tmp_path / "enroll.scp"))
    _write(tmp_path / "test", utt2spk, u2a, asv, cm)
    conf = tmp_path / "b2.yaml"
    conf.write_text(yaml.safe_dump({"model": {"name": "b2", "hidden": [64, 32, 16]},
                                    "train": {"epochs": 40, "batch_size": 64, "seed": 1}}))
    exp, t = tmp_path / "exp", tmp_path / "test"
    common = ["--config", str(conf), "--exp", str(exp), "--data", str(tmp_path / "train"),
              "--asv", str(tmp_path / "train" / "asv.scp"), "--cm", str(tmp_path / "train" / "cm.scp"),
              "--device", "cpu"]
    dev = ["--dev-trials", str(tmp_path / "trials"), "--dev-enroll", str(tmp_path / "enroll.scp"),
           "--dev-asv", str(t / "asv.scp"), "--dev-cm", str(t / "cm.scp")]
    assert train_sasv_dnn.main(common + dev[:2]) == 1                                # dev options go together
    assert train_sasv_dnn.main(common + dev) == 0
    out = tmp_path / "scores"
    assert score_sasv_dnn.main(["--exp", str(exp), "--trials", str(tmp_path / "trials"), "--enroll",
                                str(tmp_path / "enroll.scp"), "--test", str(t / "asv.scp"), "--cm",
                                str(t / "cm.scp"), "--out", str(out), "--device", "cpu"]) == 0
    rows = [line.split() for line in out.read_text().splitlines()]
    assert [(r[0], r[1]) for r in rows] == [(a, b) for a, b, _ in trials]
    labels = np.array([c for _, _, c in trials])
    b2 = np.array([float(r[2]) for r in rows])
    cos = np.array([np.dot(enroll[a], asv[b]) / np.linalg.norm(enroll[a]) / np.linalg.norm(asv[b])
                    for a, b, _ in trials])
    is_tar = labels == "target"
    sasv_b2, sasv_cos = 100 * eer(b2, is_tar), 100 * eer(cos, is_tar)
    spf_b2 = 100 * eer(b2[labels != "nontarget"], is_tar[labels != "nontarget"])
    spf_cos = 100 * eer(cos[labels != "nontarget"], is_tar[labels != "nontarget"])
    assert spf_cos > 25 and spf_b2 < 10, (spf_cos, spf_b2)          # spoofs fool the cosine, not B2
    assert sasv_b2 < sasv_cos / 2, (sasv_b2, sasv_cos)
    with open(exp / "config.yaml") as f:
        assert yaml.safe_load(f)["model"]["name"] == "b2"
    # the scorer refuses embeddings of another size than the model's
    write_embeddings(["x"], [np.zeros(CM + 1)], str(tmp_path / "bad.ark"), str(tmp_path / "bad.scp"))
    assert score_sasv_dnn.main(["--exp", str(exp), "--trials", str(tmp_path / "trials"), "--enroll",
                                str(tmp_path / "enroll.scp"), "--test", str(t / "asv.scp"), "--cm",
                                str(tmp_path / "bad.scp"), "--out", str(tmp_path / "s2")]) == 1
    assert not (tmp_path / "s2").exists()
