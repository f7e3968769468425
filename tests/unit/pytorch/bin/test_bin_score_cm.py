"""pytorch.bin.score_cm on two tiny generated wavs (one repeat-padded, one cut): `utt score` lines in wav.scp
order with score = the bona fide logit of the model on the official input rule, the embeddings table, the
official .conf JSON taken as is, and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from common.embeddings import load_embeddings
from common.io import read_kv
from pytorch.bin import score_cm
from pytorch.models.aasist import AASIST, BONAFIDE, fix_length

PRETRAINED = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "pretrained" / "aasist"
SMALL = {"first_conv": 128, "filts": [70, [1, 8], [8, 8], [8, 16], [16, 16]], "gat_dims": [16, 8],
         "pool_ratios": [0.5, 0.5, 0.5, 0.5], "temperatures": [2.0, 2.0, 100.0, 100.0], "nb_samp": 16000}


def _wavs(tmp_path: Path, rate: int = 16000) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    waves = {"utt_b": (0.1 * rng.standard_normal(int(0.3 * rate))).astype(np.float32),   # shorter: padded
             "utt_a": (0.1 * rng.standard_normal(int(1.5 * rate))).astype(np.float32)}   # longer: cut
    lines = []
    for utt, w in waves.items():
        sf.write(tmp_path / f"{utt}.wav", w, rate, subtype="FLOAT")
        lines.append(f"{utt} {tmp_path / f'{utt}.wav'}\n")
    (tmp_path / "wav.scp").write_text("".join(lines))
    return tmp_path / "wav.scp", waves


def test_scores_and_embeddings_of_a_small_model(tmp_path):
    torch.manual_seed(0)
    model = AASIST(**SMALL).eval()
    torch.save(model.state_dict(), tmp_path / "cm.pth")
    (tmp_path / "cm.conf").write_text(json.dumps({"model_config": {"architecture": "AASIST", **SMALL}}))
    scp, waves = _wavs(tmp_path)
    out, emb, diff = tmp_path / "scores", tmp_path / "emb" / "xvector.ark", tmp_path / "scores.logit_diff"
    rc = score_cm.main(["--model-conf", str(tmp_path / "cm.conf"), "--checkpoint", str(tmp_path / "cm.pth"),
                        "--wav-scp", str(scp), "--out", str(out), "--embeddings", str(emb), "--batch-size", "1",
                        "--logit-diff", str(diff)])
    assert rc == 0
    lines = [ln.split() for ln in out.read_text().splitlines()]
    assert [ln[0] for ln in lines] == ["utt_b", "utt_a"]  # wav.scp order
    with torch.no_grad():
        e, logits = model.embed(torch.from_numpy(np.stack([fix_length(w, 16000) for w in waves.values()])))
    assert [float(ln[1]) for ln in lines] == pytest.approx(logits[:, BONAFIDE].tolist(), abs=1e-5)
    # the softmax log-odds: sigmoid of it is the bona fide posterior
    d = [ln.split() for ln in diff.read_text().splitlines()]
    assert [ln[0] for ln in d] == ["utt_b", "utt_a"]
    post = torch.softmax(logits, dim=1)[:, BONAFIDE].tolist()
    assert [1 / (1 + np.exp(-float(ln[1]))) for ln in d] == pytest.approx(post, abs=1e-5)
    keys, mat = load_embeddings(str(emb.with_suffix(".scp")))
    assert keys == ["utt_b", "utt_a"] and mat.shape == (2, 40)
    assert np.allclose(mat, e.numpy(), atol=1e-5)


@pytest.mark.skipif(not (PRETRAINED / "AASIST-L.pth").is_file(), reason=f"official weights absent: {PRETRAINED}")
def test_official_conf_and_weights_as_they_are(tmp_path):
    scp, _ = _wavs(tmp_path)
    out = tmp_path / "scores"
    rc = score_cm.main(["--model-conf", str(PRETRAINED / "AASIST-L.conf"), "--checkpoint",
                        str(PRETRAINED / "AASIST-L.pth"), "--wav-scp", str(scp), "--out", str(out)])
    assert rc == 0
    scores = read_kv(out)
    assert list(scores) == ["utt_b", "utt_a"] and all(np.isfinite(float(s)) for s in scores.values())


def test_wrong_rate_and_overwrite_are_one_line_errors(tmp_path, capsys):
    torch.save(AASIST(**SMALL).state_dict(), tmp_path / "cm.pth")
    (tmp_path / "cm.conf").write_text(json.dumps({"model_config": SMALL}))
    scp, _ = _wavs(tmp_path, rate=8000)
    common = ["--model-conf", str(tmp_path / "cm.conf"), "--checkpoint", str(tmp_path / "cm.pth"),
              "--wav-scp", str(scp)]
    assert score_cm.main([*common, "--out", str(tmp_path / "scores")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("score_cm: error: utterance utt_b: sample rate 8000 Hz")
    assert not (tmp_path / "scores").exists()
    assert score_cm.main([*common, "--out", str(scp)]) == 1
    assert "is also the input --wav-scp" in capsys.readouterr().err
