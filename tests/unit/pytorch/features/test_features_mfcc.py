"""MFCC against kaldi-native-fbank (dither 0), and the log spectrogram against a per-frame loop."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pytorch.features import Mfcc, Spectrogram

_spec = importlib.util.spec_from_file_location("knf_ref", Path(__file__).with_name("knf_ref.py"))
ref = importlib.util.module_from_spec(_spec)
sys.modules["knf_ref"] = ref
_spec.loader.exec_module(ref)

torch.set_num_threads(1)
TOL = 1e-3

CASES = [
    {},
    {"use_energy": False},
    {"snip_edges": False, "raw_energy": False},
    {"num_mel_bins": 30, "num_ceps": 30, "high_freq": -400.0, "snip_edges": False},  # Kaldi sre/voxceleb
    {"cepstral_lifter": 0.0, "window_type": "hamming"},
    {"htk_compat": True},
    {"htk_compat": True, "use_energy": False},
    {"num_mel_bins": 40, "num_ceps": 20, "low_freq": 60.0, "window_type": "hanning"},
]


@pytest.mark.parametrize("sr", [8000, 16000])
@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_mfcc_matches_kaldi_native_fbank(sr, case):
    for name, x in ref.signals(sr).items():
        want = ref.knf_mfcc(x, sr, **case)
        got = Mfcc(sample_frequency=sr, dither=0.0, **case)(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape, name
        assert np.abs(got - want).max() <= TOL, (name, np.abs(got - want).max())


def test_mfcc_c0_is_log_energy_and_batch():
    x = torch.from_numpy(np.stack(list(ref.signals(16000).values())))
    m = Mfcc(dither=0.0, num_ceps=13)
    out = m(x)
    assert out.shape[0] == 2 and out.shape[2] == 13 == m.dim
    frame = x[0, :400].double()
    frame = frame - frame.mean()
    assert out[0, 0, 0].item() == pytest.approx(math.log(float(frame @ frame)), abs=1e-4)


def _kaldi_spectrogram(x: np.ndarray, sr: int, frame_ms: float) -> np.ndarray:
    """Per-frame loop following feature-spectrogram.cc (snip_edges, povey, pre-emphasis 0.97)."""
    size, shift = int(sr * frame_ms / 1000), int(sr * 0.010)
    padded = 1 << (size - 1).bit_length()
    i = np.arange(size)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * i / (size - 1))) ** 0.85
    rows = []
    for f in range(1 + (len(x) - size) // shift):
        w = x[f * shift:f * shift + size].astype(np.float64)
        w = w - w.mean()
        energy = math.log(max(w @ w, np.finfo(np.float32).eps))
        w = np.concatenate([[w[0] * 0.03], w[1:] - 0.97 * w[:-1]]) * win
        p = np.abs(np.fft.rfft(w, n=padded)) ** 2
        p = np.log(np.maximum(p, np.finfo(np.float32).eps))
        p[0] = energy
        rows.append(p)
    return np.array(rows)


def test_spectrogram_matches_reference_loop_and_has_257_bins():
    x = ref.signals(16000)["noise"]
    spec = Spectrogram(frame_length=32.0, dither=0.0)
    got = spec(torch.from_numpy(x)).numpy()
    want = _kaldi_spectrogram(x, 16000, 32.0)
    assert got.shape == want.shape and got.shape[1] == 257 == spec.dim
    assert np.abs(got - want).max() <= TOL
