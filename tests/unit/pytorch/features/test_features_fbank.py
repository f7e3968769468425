"""Fbank against kaldi-native-fbank (dither 0): max |diff| <= 1e-3 over a grid of options."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from common.errors import ConfigError
from pytorch.features import Fbank, num_frames
from pytorch.features.options import FbankOptions

_spec = importlib.util.spec_from_file_location("knf_ref", Path(__file__).with_name("knf_ref.py"))
ref = importlib.util.module_from_spec(_spec)
sys.modules["knf_ref"] = ref
_spec.loader.exec_module(ref)

torch.set_num_threads(1)
TOL = 1e-3

CASES = [
    {},
    {"snip_edges": False},
    {"use_energy": True},
    {"use_energy": True, "raw_energy": False},
    {"use_energy": True, "snip_edges": False, "htk_compat": True},
    {"use_energy": True, "energy_floor": 1e6},
    {"num_mel_bins": 40, "low_freq": 100.0, "high_freq": -400.0},
    {"num_mel_bins": 30, "low_freq": 0.0, "high_freq": 3000.0},
    {"num_mel_bins": 64, "use_power": False},
    {"preemphasis_coefficient": 0.0, "remove_dc_offset": False},
    {"round_to_power_of_two": False, "frame_length": 20.0},
] + [{"window_type": w, "snip_edges": s} for w in ("hamming", "hanning", "rectangular", "blackman", "sine")
     for s in (True, False)]


@pytest.mark.parametrize("sr", [8000, 16000])
@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_fbank_matches_kaldi_native_fbank(sr, case):
    for name, x in ref.signals(sr).items():
        want = ref.knf_fbank(x, sr, **case)
        got = Fbank(sample_frequency=sr, dither=0.0, **case)(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape, name
        assert np.abs(got - want).max() <= TOL, (name, np.abs(got - want).max())


def test_fbank_batch_equals_single_and_shapes():
    x = torch.from_numpy(np.stack(list(ref.signals(16000).values())))
    fb = Fbank(dither=0.0, num_mel_bins=40)
    batch = fb(x)
    assert batch.shape == (2, num_frames(x.shape[1], fb.opts), 40) and batch.dtype == torch.float32
    assert torch.allclose(batch[1], fb(x[1]), atol=1e-5)
    assert fb.dim == 40


def test_fbank_frame_counts_and_short_input():
    o = FbankOptions()
    assert num_frames(400, o) == 1 and num_frames(399, o) == 0 and num_frames(560, o) == 2
    o.snip_edges = False
    assert num_frames(400, o) == 3 and num_frames(80, o) == 1 and num_frames(79, o) == 0
    assert Fbank(dither=0.0)(torch.zeros(100)).shape == (0, 23)
    # snip_edges=false on a signal shorter than a window: Kaldi reflects repeatedly.
    for n, frames in ((330, 2), (100, 1)):
        x = (np.random.default_rng(1).standard_normal(n) * 1000).astype(np.float32)
        want = ref.knf_fbank(x, 16000, snip_edges=False)
        got = Fbank(dither=0.0, snip_edges=False)(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape == (frames, 23) and np.abs(got - want).max() <= TOL


def test_fbank_dither_is_seeded_and_changes_output():
    x = torch.from_numpy(ref.signals(16000)["speech"])
    fb = Fbank()  # dither 1.0 by default, as in Kaldi
    a = fb(x, generator=torch.Generator().manual_seed(3))
    b = fb(x, generator=torch.Generator().manual_seed(3))
    c = fb(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a - Fbank(dither=0.0)(x)).abs().max() < 1.0  # dither is small noise, not a different feature


def test_fbank_integer_input_is_int16_scale():
    x = ref.signals(16000)["noise"].round().astype(np.int16)
    fb = Fbank(dither=0.0)
    assert torch.allclose(fb(torch.from_numpy(x)), fb(torch.from_numpy(x.astype(np.float32))))


@pytest.mark.parametrize("bad, msg", [
    ({"num_mel_bin": 40}, "unknown key 'num_mel_bin'"),
    ({"window_type": "kaiser"}, "window_type"),
    ({"vtln_warp": 0.9}, "VTLN"),
    ({"high_freq": 9000.0}, "frequency range"),
    ({"snip_edges": "yes"}, "true or false"),
    ({"num_mel_bins": 40.5}, "integer"),
    ({"num_mel_bins": 200, "sample_frequency": 8000.0}, "too large"),
])
def test_fbank_bad_options(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        Fbank(**bad)


def test_fbank_float32_close_to_float64():
    # Low-power bins (1e-10 of the frame peak) are where float32 implementations drift apart; ours
    # stays within 1e-3 of the same computation in float64 (kaldi-native-fbank drifts ~3e-3 here).
    x = torch.from_numpy(ref.signals(16000, 2.0, seed=2)["speech"])
    fb = Fbank(dither=0.0, num_mel_bins=80, window_type="hamming", snip_edges=False)
    assert (fb(x).double() - fb(x.double())).abs().max() <= TOL
    assert fb(x.double()).dtype == torch.float64
