"""VoiceFilter (pytorch/models/voicefilter.py): mask shapes for the three conditionings, the embedding really
conditions the mask, STFT/iSTFT round trip, the PIT separation loss on hand-made cases, config checks."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from common.errors import ConfigError
from pytorch.config import load_config
from pytorch.models.voicefilter import VoiceFilter, build_separator, separation_loss

ROOT = Path(__file__).resolve().parents[4]
TINY = {"name": "voicefilter", "n_fft": 64, "win_length": 64, "hop_length": 16, "conv_channels": 4,
        "last_channels": 2, "kernels": [[1, 3], [3, 3]], "dilations": [1, 2], "lstm_hidden": 8, "fc_dim": 16}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("cond,k", [("enroll", 1), ("mixture", 1), ("none", 2)])
def test_mask_shapes(cond, k):
    m = build_separator(TINY, cond, embed_dim=0 if cond == "none" else 5).eval()
    mag = torch.rand(3, 11, 33)
    mask = m(mag, None if cond == "none" else torch.randn(3, 5))
    assert mask.shape == (3, k, 11, 33)
    assert ((mask > 0) & (mask < 1)).all()
    wav = torch.randn(3, 400)
    emb = None if cond == "none" else torch.randn(3, 2, 5)
    est, spec = m.estimates(wav, emb)
    assert est.shape == (3, 2, 400 // 16 + 1, 33) and spec.shape == (3, 400 // 16 + 1, 33)
    assert m.separate(wav, emb).shape == (3, 2, 400)


def test_embedding_conditions_the_mask():
    m = build_separator(TINY, "enroll", embed_dim=5).eval()
    mag = torch.rand(1, 11, 33).repeat(2, 1, 1)
    mask = m(mag, torch.randn(2, 5))
    assert not torch.allclose(mask[0], mask[1])


def test_embedding_enters_the_lstm_at_unit_rms():
    # a unit-length embedding has elements of ~1/sqrt(D), too small beside the batch-normalised CNN features
    m = build_separator(TINY, "enroll", embed_dim=16).eval()
    seen = {}
    m.lstm.register_forward_pre_hook(lambda mod, args: seen.update(x=args[0]))
    emb = torch.nn.functional.normalize(torch.randn(2, 16), dim=1)
    m(torch.rand(2, 5, 33), emb)
    part = seen["x"][:, :, -16:]
    assert torch.allclose(part, (emb * 4).unsqueeze(1).expand(2, 5, 16))     # sqrt(16) = 4, every frame
    assert part.pow(2).mean().item() == pytest.approx(1.0)


def test_stft_round_trip():
    m = build_separator(TINY, "none")
    x = torch.randn(2, 500)
    assert torch.allclose(m.istft(m.stft(x), 500), x, atol=1e-5)


def test_separation_loss_picks_the_better_permutation():
    t = torch.rand(2, 2, 5, 7)
    est = t.clone()
    est[1] = t[1].flip(0)            # second example: estimates in swapped order
    loss, perm = separation_loss(est, t, permute=True)
    assert loss.item() == pytest.approx(0.0) and perm.tolist() == [0, 1]
    fixed, perm = separation_loss(est, t, permute=False)
    expect = ((t[1].flip(0) - t[1]) ** 2).mean() / 2   # only example 2 is wrong; mean over the batch
    assert fixed.item() == pytest.approx(expect.item()) and perm.tolist() == [0, 0]


def test_config_checks():
    with pytest.raises(ConfigError, match="unknown key 'lstm_units'"):
        build_separator({**TINY, "lstm_units": 3}, "none")
    with pytest.raises(ConfigError, match="set by the program"):
        build_separator({**TINY, "embed_dim": 3}, "enroll", embed_dim=3)
    with pytest.raises(ConfigError, match="needs embeddings"):
        build_separator(TINY, "mixture", embed_dim=0)
    with pytest.raises(ConfigError, match="same length"):
        VoiceFilter(kernels=[[1, 3]], dilations=[1, 2])
    with pytest.raises(ValueError, match="embedding is required"):
        build_separator(TINY, "enroll", embed_dim=4)(torch.rand(1, 3, 33))


def test_paper_config_has_the_paper_sizes():
    cfg = load_config(ROOT / "egs" / "overlap" / "conf" / "voicefilter.yaml")
    m = build_separator(cfg["model"], "enroll", embed_dim=256)
    convs = [c for c in m.cnn if isinstance(c, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64] * 7 + [8]
    assert [c.dilation[0] for c in convs] == [1, 1, 1, 2, 4, 8, 16, 1]
    assert m.lstm.hidden_size == 400 and m.lstm.input_size == 8 * 257 + 256 and m.fc1.out_features == 600
    assert m.fc2.out_features == 257
    unc = build_separator(cfg["model"], "none")
    assert unc.fc2.out_features == 2 * 257 and unc.lstm.input_size == 8 * 257
