"""kaldi-native-fbank reference and test signals shared by the feature tests (not a test file)."""
from __future__ import annotations

import numpy as np

knf = __import__("pytest").importorskip("kaldi_native_fbank")


def signals(sr: int, seconds: float = 0.6, seed: int = 0) -> dict[str, np.ndarray]:
    """Int16-scale test signals: white noise, and a speech-like harmonic series with noise and silence."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds) + 37  # not a multiple of the shift
    t = np.arange(n) / sr
    f0 = 110 + 40 * np.sin(2 * np.pi * 2.0 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) * (0.8 ** k) for k in range(1, 25)) * 6000
    envelope = np.clip(np.sin(2 * np.pi * 1.5 * t), 0, None)  # pauses between "syllables"
    speech = voiced * envelope + rng.standard_normal(n) * 50 + 200  # + DC offset
    return {"noise": (rng.standard_normal(n) * 3000).astype(np.float32),
            "speech": speech.astype(np.float32)}


def _frame_opts(o, sr: int, kw: dict) -> None:
    fo = o.frame_opts
    fo.dither = 0.0
    fo.samp_freq = sr
    fo.snip_edges = kw.get("snip_edges", True)
    fo.window_type = kw.get("window_type", "povey")
    fo.frame_length_ms = kw.get("frame_length", 25.0)
    fo.frame_shift_ms = kw.get("frame_shift", 10.0)
    fo.preemph_coeff = kw.get("preemphasis_coefficient", 0.97)
    fo.remove_dc_offset = kw.get("remove_dc_offset", True)
    fo.round_to_power_of_two = kw.get("round_to_power_of_two", True)
    o.mel_opts.num_bins = kw.get("num_mel_bins", 23)
    o.mel_opts.low_freq = kw.get("low_freq", 20.0)
    o.mel_opts.high_freq = kw.get("high_freq", 0.0)
    o.energy_floor = kw.get("energy_floor", 0.0)
    o.raw_energy = kw.get("raw_energy", True)
    o.htk_compat = kw.get("htk_compat", False)


def _run(feature, sr: int, x: np.ndarray) -> np.ndarray:
    feature.accept_waveform(sr, x.tolist())
    feature.input_finished()
    if feature.num_frames_ready == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([feature.get_frame(i) for i in range(feature.num_frames_ready)])


def knf_fbank(x: np.ndarray, sr: int, **kw) -> np.ndarray:
    o = knf.FbankOptions()
    _frame_opts(o, sr, kw)
    o.use_energy = kw.get("use_energy", False)
    o.use_power = kw.get("use_power", True)
    return _run(knf.OnlineFbank(o), sr, x)


def knf_mfcc(x: np.ndarray, sr: int, **kw) -> np.ndarray:
    o = knf.MfccOptions()
    _frame_opts(o, sr, kw)
    o.use_energy = kw.get("use_energy", True)
    o.num_ceps = kw.get("num_ceps", 13)
    o.cepstral_lifter = kw.get("cepstral_lifter", 22.0)
    return _run(knf.OnlineMfcc(o), sr, x)
