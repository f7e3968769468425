import numpy as np
import pytest
import torch

from common.errors import ConfigError
from pytorch.data.augment import (
    Augmenter,
    AugmentSources,
    change_speed,
    reverberate,
    scaled_noise,
    speed_ratio,
)
from pytorch.data.options import SpecAugOptions, augment_options
from pytorch.data.sources import Source
from pytorch.data.specaug import spec_augment


def _snr(clean, mixed):
    noise = (mixed - clean).astype(np.float64)
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))


@pytest.mark.parametrize("snr", [0.0, 5.0, 13.5, 20.0])
def test_noise_is_added_at_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    speech = (rng.standard_normal(8000) * 3000).astype(np.float32)
    noise = (rng.standard_normal(8000) * 10).astype(np.float32)
    assert abs(_snr(speech, speech + scaled_noise(speech, noise, snr)) - snr) < 1e-3


def test_reverb_keeps_length_power_and_direct_path():
    rng = np.random.default_rng(1)
    speech = rng.standard_normal(4000).astype(np.float32)
    rir = np.zeros(800)
    rir[50] = 1.0                      # direct path after a 50-sample delay
    rir[51:] = 0.3 * np.exp(-np.arange(749) / 100) * rng.standard_normal(749)
    out = reverberate(speech, rir.astype(np.float32))
    assert out.shape == speech.shape and out.dtype == np.float32
    p_in = np.mean(speech.astype(np.float64) ** 2)
    assert np.mean(out.astype(np.float64) ** 2) == pytest.approx(p_in, rel=1e-4)
    # Aligned on the direct sound: correlation peaks at lag 0.
    lags = range(-5, 6)
    corr = [np.dot(np.roll(speech, k), out) for k in lags]
    assert list(lags)[int(np.argmax(corr))] == 0
    # A pure delay RIR gives the input back exactly.
    delta = np.zeros(100, np.float32)
    delta[30] = 0.5
    np.testing.assert_allclose(reverberate(speech, delta), speech, atol=1e-5)


def test_speed_changes_length():
    assert speed_ratio(0.9) == (10, 9) and speed_ratio(1.1) == (10, 11)
    x = np.sin(np.arange(11000) * 0.05).astype(np.float32)
    assert abs(change_speed(x, 0.9).size - 11000 / 0.9) <= 1
    assert abs(change_speed(x, 1.1).size - 10000) <= 1
    assert change_speed(x, 1.0) is x


class _Recorder:
    """Stands in for the audio reader: remembers which sources were read."""

    def __init__(self, length):
        self.calls = []
        self.length = length

    def __call__(self, src, start, length):
        self.calls.append(src.key)
        n = self.length if length is None else length
        return np.random.default_rng(hash(src.key) % 2**32).standard_normal(n).astype(np.float32)


def _sources(n):
    return [Source(f"spk{i}", f"/x/{i}.wav", 16000) for i in range(n)]


def test_babble_sums_3_to_7_talkers_and_choices_follow_probabilities():
    opts = augment_options({"babble": {"data": "x", "prob": 1.0}})
    assert opts.babble.snr == [13.0, 20.0] and opts.babble.num_speakers == [3, 7]
    load = _Recorder(16000)
    aug = Augmenter(opts, AugmentSources([], [], _sources(10), []), load)
    counts = []
    rng = np.random.default_rng(0)
    for _ in range(60):
        load.calls.clear()
        wave = rng.standard_normal(3200).astype(np.float32)
        out, kind = aug(wave, rng)
        assert kind == "babble" and out.shape == wave.shape
        counts.append(len(load.calls))
        # Each talker at 13..20 dB: the total babble is between 20 - 10log10(7) and 13 dB below speech.
        assert 13 - 10 * np.log10(7) - 0.5 < _snr(wave, out) < 20 + 0.5
    assert min(counts) == 3 and max(counts) == 7

    mixed = augment_options({"noise": {"data": "n", "prob": 0.2}, "reverb": {"data": "r", "prob": 0.3}})
    aug = Augmenter(mixed, AugmentSources(_sources(2), [], [], _sources(2)), _Recorder(400))
    kinds = [aug.choose(rng) for _ in range(4000)]
    assert abs(kinds.count("noise") / 4000 - 0.2) < 0.03
    assert abs(kinds.count("reverb") / 4000 - 0.3) < 0.03
    assert abs(kinds.count("none") / 4000 - 0.5) < 0.03
    assert set(kinds) == {"none", "noise", "reverb"}


def test_augment_config_errors():
    with pytest.raises(ConfigError, match="sum to"):
        augment_options({"noise": {"prob": 0.6}, "music": {"prob": 0.6}})
    with pytest.raises(ConfigError, match="augment.music: unknown key 'snrs'"):
        augment_options({"music": {"snrs": [1, 2]}})
    with pytest.raises(ConfigError, match="unknown key 'nosie'"):
        augment_options({"nosie": {}})
    assert augment_options({"music": {"prob": 0.1}}).music.snr == [5.0, 15.0]


def test_specaug_mask_sizes():
    opts = SpecAugOptions(prob=1.0, num_time_masks=1, max_time_width=6, num_freq_masks=1, max_freq_width=3)
    feats = torch.ones(200, 50, 20)
    out = spec_augment(feats, opts, torch.Generator().manual_seed(0))
    zero = out == 0
    time_rows = zero.all(dim=2)   # frames masked across every bin
    freq_cols = zero.all(dim=1)   # bins masked across every frame
    tw, fw = time_rows.sum(1), freq_cols.sum(1)
    assert tw.max() == 6 and tw.min() == 0 and fw.max() == 3 and fw.min() == 0
    # Exactly the union of one time band and one frequency band, each contiguous.
    for i in range(200):
        t = torch.nonzero(time_rows[i]).flatten()
        f = torch.nonzero(freq_cols[i]).flatten()
        assert t.numel() == 0 or (t[-1] - t[0] + 1) == t.numel()
        assert f.numel() == 0 or (f[-1] - f[0] + 1) == f.numel()
        assert int(zero[i].sum()) == t.numel() * 20 + f.numel() * 50 - t.numel() * f.numel()
    half = spec_augment(feats, SpecAugOptions(prob=0.5, max_time_width=6), torch.Generator().manual_seed(1))
    assert 60 < int((half == 0).any(dim=2).any(dim=1).sum()) < 140
    assert torch.equal(spec_augment(feats, SpecAugOptions(prob=0.0), torch.Generator()), feats)
