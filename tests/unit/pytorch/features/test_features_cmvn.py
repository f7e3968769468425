"""Sliding CMN/CVN against a loop that follows Kaldi's SlidingWindowCmnInternal; utterance CMVN."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pytorch.features import sliding_cmvn, utterance_cmvn


def kaldi_sliding(x: np.ndarray, cmn_window=600, min_window=100, center=False, norm_vars=False) -> np.ndarray:
    n = x.shape[0]
    out = np.zeros_like(x, dtype=np.float64)
    for t in range(n):
        if center:
            start = t - cmn_window // 2
            end = start + cmn_window
        else:
            start = t - cmn_window
            end = t + 1
        if start < 0:
            end -= start
            start = 0
        if not center and end > t:
            end = max(t + 1, min_window)
        if end > n:
            start -= end - n
            end = n
            start = max(start, 0)
        w = x[start:end].astype(np.float64)
        frames = end - start
        out[t] = x[t] - w.sum(0) / frames
        if norm_vars:
            if frames == 1:
                out[t] = 0.0
            else:
                var = np.maximum((w * w).sum(0) / frames - (w.sum(0) / frames) ** 2, 1e-10)
                out[t] /= np.sqrt(var)
    return out


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("norm_vars", [False, True])
@pytest.mark.parametrize("window,min_window", [(600, 100), (7, 3), (10, 10), (1, 1), (4, 30)])
def test_sliding_cmvn_matches_kaldi_loop(center, norm_vars, window, min_window):
    if center and min_window > window:
        pytest.skip("Kaldi requires min_cmn_window <= cmn_window when centred")
    rng = np.random.default_rng(window)
    for t in (1, 5, 23):
        x = (rng.standard_normal((t, 3)) * 3 + 10).astype(np.float32)
        want = kaldi_sliding(x, window, min_window, center, norm_vars)
        got = sliding_cmvn(torch.from_numpy(x), cmn_window=window, min_cmn_window=min_window,
                           center=center, norm_vars=norm_vars).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_sliding_cmn_hand_made_and_batch():
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    # Non-centred window 1 with min window 1: frame t uses frames [t-1, t].
    out = sliding_cmvn(x, cmn_window=1, min_cmn_window=1)
    assert out.flatten().tolist() == [0.0, 0.5, 0.5, 0.5]
    # Default window covers the whole short utterance: plain mean subtraction.
    assert torch.allclose(sliding_cmvn(x), x - 2.5)
    b = torch.stack([x, 2 * x])
    assert torch.allclose(sliding_cmvn(b, cmn_window=1, min_cmn_window=1)[1], 2 * out)


def test_utterance_cmvn():
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    assert torch.equal(utterance_cmvn(x), torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
    out = utterance_cmvn(x, norm_vars=True)
    assert torch.allclose(out[:, 0], torch.tensor([-1.0, 1.0])) and torch.all(out[:, 1] == 0)
