"""Feature configs: YAML with Kaldi option names -> modules; unknown keys name key, file and valid keys."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from common.errors import ConfigError
from pytorch.features import Fbank, Mfcc, Spectrogram, from_config, load_feature_config, load_vad_config

CONF = Path(__file__).resolve().parents[4] / "egs" / "mini" / "conf"


def test_recipe_configs_load():
    fb, kind = load_feature_config(CONF / "fbank.yaml")
    assert kind == "fbank" and isinstance(fb, Fbank) and fb.dim == 80
    mf, kind = load_feature_config(CONF / "mfcc.yaml", "mfcc")
    assert kind == "mfcc" and mf.dim == 30 and not mf.opts.snip_edges
    assert mf.opts.mel_range() == (20.0, 7600.0)
    vad = load_vad_config(CONF / "vad.yaml")
    assert vad["vad_proportion_threshold"] == 0.12 and vad["vad_frames_context"] == 2


def test_from_config_kinds():
    m, kind = from_config({"name": "spectrogram", "frame_length": 32, "dither": 0.0})
    assert kind == "spectrogram" and isinstance(m, Spectrogram) and m.dim == 257
    assert m(torch.zeros(16000)).shape == (97, 257)  # 1 + (16000 - 512) // 160
    m, kind = from_config({"num_ceps": 20}, "mfcc")
    assert isinstance(m, Mfcc) and m.dim == 20


def test_config_errors(tmp_path):
    bad = tmp_path / "fbank.yaml"
    bad.write_text("name: fbank\nnum_mel_bins: 80\nlow_frequency: 20\n")
    with pytest.raises(ConfigError, match=r"fbank.yaml.*unknown key 'low_frequency'.*valid keys:.*low_freq"):
        load_feature_config(bad)
    with pytest.raises(ConfigError, match="config says name: fbank but mfcc"):
        load_feature_config(CONF / "fbank.yaml", "mfcc")
    with pytest.raises(ConfigError, match="no feature type"):
        from_config({"num_mel_bins": 40})
    with pytest.raises(ConfigError, match="unknown feature type 'plp'"):
        from_config({}, "plp")
    vad = tmp_path / "vad.yaml"
    vad.write_text("vad_energy_threshold: 5.5\nvad_context: 2\n")
    with pytest.raises(ConfigError, match=r"vad.yaml.*unknown key 'vad_context'"):
        load_vad_config(vad)
