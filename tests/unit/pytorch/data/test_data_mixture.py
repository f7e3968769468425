"""data.mode: mixture: every item mixes its utterance with another speaker's, labels [B, 2] name both,
the pairs change with the epoch (validation keeps them), and the interferer is scaled to the SIR."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from common.errors import ConfigError
from pytorch.data.builder import build_train_data
from pytorch.data.mixture_dataset import scale_to_sir

RATE = 8000
UTTS = {f"s{k}-u{j}": (f"s{k}", 0.3 + 0.1 * j) for k in range(4) for j in range(3)}


def _wav_dir(path):
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for u in sorted(UTTS):
        sf.write(path / f"{u}.wav", (rng.standard_normal(int(UTTS[u][1] * RATE)) * 0.1).astype(np.float32),
                 RATE, subtype="FLOAT")
    (path / "wav.scp").write_text("".join(f"{u} {path / u}.wav\n" for u in sorted(UTTS)))
    (path / "utt2spk").write_text("".join(f"{u} {UTTS[u][0]}\n" for u in sorted(UTTS)))
    (path / "utt2dur").write_text("".join(f"{u} {UTTS[u][1]}\n" for u in sorted(UTTS)))
    return path


def _cfg(d, **data):
    return {"data": {"train": str(d), "mode": "mixture", "num_frames": 20, **data},
            "features": {"name": "spectrogram", "sample_frequency": RATE, "frame_length": 16, "dither": 0.0},
            "train": {"batch_size": 4, "seed": 3}}


def _epoch(data, epoch):
    data.set_epoch(epoch)
    return [b for b in data.loader]


def test_items_are_two_speaker_mixtures_with_both_labels(tmp_path):
    data = build_train_data(_cfg(_wav_dir(tmp_path / "w")))
    assert data.feat_dim == 65 and data.num_classes == 4
    batches = _epoch(data, 1)
    for b in batches:
        assert b["feats"].shape == (4, 20, 65) and b["label"].shape == (4, 2)
        assert (b["label"][:, 0] != b["label"][:, 1]).all()
        # the first label is the item's own speaker
        own = [data.spk2id[UTTS[u][0]] for u in data.utt_ids(b["index"])]
        assert b["label"][:, 0].tolist() == own
    again = _epoch(data, 1)
    assert all((a["feats"] == b["feats"]).all() for a, b in zip(batches, again))    # seeded
    pairs = lambda bs: sorted(tuple(r) for b in bs for r in b["label"].tolist())  # noqa: E731
    assert pairs(batches) != pairs(_epoch(data, 2))                                  # new pairs


def test_three_speakers_and_bad_options(tmp_path):
    d = _wav_dir(tmp_path / "w")
    b = next(iter(build_train_data(_cfg(d, mix_speakers=3)).loader))
    assert b["label"].shape == (4, 3) and all(len(set(r)) == 3 for r in b["label"].tolist())
    with pytest.raises(ConfigError, match="fbank_on"):
        build_train_data(_cfg(d, fbank_on="device"))
    with pytest.raises(ConfigError, match="mix_speakers"):
        build_train_data(_cfg(d, mix_speakers=1))


@pytest.mark.parametrize("sir", [0.0, 6.0, -3.0])
def test_scale_to_sir(sir):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(1000), 5 * rng.standard_normal(1000)
    b2 = scale_to_sir(a, b, sir)
    assert 10 * np.log10(np.mean(a ** 2) / np.mean(b2 ** 2)) == pytest.approx(sir, abs=1e-6)
