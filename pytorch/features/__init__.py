"""Kaldi-compatible features in torch (batched, CPU or GPU, float32 by default).

Inputs are waveforms in int16 scale, like Kaldi: float samples in [-1, 1) times 32768.
    fbank = Fbank(num_mel_bins=80, dither=0.0)
    feats = fbank(wave)          # [N] -> [T, 80]; [B, N] -> [B, T, 80]
Options are dataclasses (options.py) with Kaldi's option names; unknown keys are errors.
"""
from pytorch.features.cmvn import sliding_cmvn, utterance_cmvn
from pytorch.features.config import FEATURES, from_config, load_feature_config, load_vad_config
from pytorch.features.fbank import Fbank
from pytorch.features.mfcc import Mfcc
from pytorch.features.options import (
                                      FbankOptions,
                                      FrameOptions,
                                      MelOptions,
                                      MfccOptions,
                                      SlidingCmvnOptions,
                                      SpectrogramOptions,
                                      VadOptions,
)
from pytorch.features.spectrogram import Spectrogram
from pytorch.features.vad import compute_vad
from pytorch.features.window import num_frames

__all__ = [
    "FEATURES", "Fbank", "FbankOptions", "FrameOptions", "MelOptions", "Mfcc", "MfccOptions",
    "SlidingCmvnOptions", "Spectrogram", "SpectrogramOptions", "VadOptions",
    "compute_vad", "from_config", "load_feature_config", "load_vad_config", "num_frames",
    "sliding_cmvn", "utterance_cmvn",
]
