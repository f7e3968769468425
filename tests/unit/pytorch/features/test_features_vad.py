"""Energy VAD against a loop that follows Kaldi's ComputeVadEnergy, plus hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from common.errors import ConfigError
from pytorch.features import compute_vad


def kaldi_vad(feats: np.ndarray, threshold=5.0, mean_scale=0.5, context=0, proportion=0.6) -> np.ndarray:
    t_max = feats.shape[0]
    energy = feats[:, 0]
    thr = threshold + (mean_scale * energy.sum() / t_max if mean_scale != 0 else 0.0)
    out = np.zeros(t_max, dtype=np.float32)
    for t in range(t_max):
        num = den = 0
        for t2 in range(t - context, t + context + 1):
            if 0 <= t2 < t_max:
                den += 1
                num += energy[t2] > thr
        out[t] = 1.0 if num >= den * proportion else 0.0
    return out


@pytest.mark.parametrize("opts", [
    {},
    {"vad_energy_threshold": 5.5, "vad_energy_mean_scale": 0.5, "vad_proportion_threshold": 0.12,
     "vad_frames_context": 2},
    {"vad_energy_mean_scale": 0.0, "vad_frames_context": 3, "vad_proportion_threshold": 0.5},
    {"vad_frames_context": 1, "vad_proportion_threshold": 0.9},
])
def test_vad_matches_kaldi_loop(opts):
    rng = np.random.default_rng(0)
    names = {"vad_energy_threshold": "threshold", "vad_energy_mean_scale": "mean_scale",
             "vad_frames_context": "context", "vad_proportion_threshold": "proportion"}
    for t in (1, 2, 7, 50):
        feats = np.concatenate([rng.uniform(0, 20, (t, 1)), rng.standard_normal((t, 3))], 1)
        feats = feats.astype(np.float32)
        want = kaldi_vad(feats, **{names[k]: v for k, v in opts.items()})
        got = compute_vad(torch.from_numpy(feats), **opts).numpy()
        np.testing.assert_array_equal(got, want)


def test_vad_hand_made():
    # C0 = [0, 10, 10, 0]: mean 5, threshold 5 + 2.5 = 7.5 -> frames 1 and 2 voiced.
    feats = torch.tensor([[0.0, 1], [10, 1], [10, 1], [0, 1]])
    assert compute_vad(feats).tolist() == [0, 1, 1, 0]
    # With context 1 and proportion 0.5: frame 0 sees {0,1} -> 1/2 >= 1 -> voiced; frame 3 likewise.
    assert compute_vad(feats, vad_frames_context=1, vad_proportion_threshold=0.5).tolist() == [1, 1, 1, 1]
    batch = torch.stack([feats, feats.flip(0)])
    assert compute_vad(batch).tolist() == [[0, 1, 1, 0], [0, 1, 1, 0]]
    assert compute_vad(torch.zeros(0, 3)).shape == (0,)


def test_vad_bad_option():
    with pytest.raises(ConfigError, match="unknown key 'vad_threshold'.*vad_energy_threshold"):
        compute_vad(torch.zeros(3, 2), vad_threshold=1.0)
