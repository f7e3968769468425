"""Feature options as dataclasses whose field names are Kaldi's option names with underscores.

A Kaldi `conf/fbank.conf` line `--num-mel-bins=80` becomes the YAML key `num_mel_bins: 80`.
Defaults are Kaldi's (feature-window.h, mel-computations.h, feature-fbank.h, feature-mfcc.h,
feature-spectrogram.h, voice-activity-detection.h, apply-cmvn-sliding).
"""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import ConfigError

WINDOW_TYPES = ("povey", "hamming", "hanning", "hann", "rectangular", "blackman", "sine")


@dataclass
class FrameOptions:
    sample_frequency: float = 16000.0
    frame_length: float = 25.0  # ms
    frame_shift: float = 10.0  # ms
    dither: float = 1.0  # Gaussian noise stddev in int16 units; 0 disables
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    round_to_power_of_two: bool = True
    blackman_coeff: float = 0.42
    snip_edges: bool = True

    @property
    def window_size(self) -> int:
        return int(self.sample_frequency * 0.001 * self.frame_length)

    @property
    def window_shift(self) -> int:
        return int(self.sample_frequency * 0.001 * self.frame_shift)

    @property
    def padded_window_size(self) -> int:
        n = self.window_size
        return 1 << (n - 1).bit_length() if self.round_to_power_of_two else n

    _choices = {"window_type": WINDOW_TYPES}

    def check(self, where: str) -> None:
        if self.window_shift <= 0 or self.window_size < 2:
            raise ConfigError(f"{where}: frame_length={self.frame_length} ms / "
                              f"frame_shift={self.frame_shift} ms at {self.sample_frequency} Hz give too few "
                              "samples per frame")
        if self.dither < 0:
            raise ConfigError(f"{where}.dither: must be >= 0, got {self.dither}")


@dataclass
class MelOptions(FrameOptions):
    num_mel_bins: int = 23
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0: offset from Nyquist
    vtln_low: float = 100.0
    vtln_high: float = -500.0
    vtln_warp: float = 1.0

    def mel_range(self, where: str = "mel options") -> tuple[float, float]:
        nyquist = 0.5 * self.sample_frequency
        high = self.high_freq if self.high_freq > 0 else nyquist + self.high_freq
        if not (0.0 <= self.low_freq < nyquist) or not (self.low_freq < high <= nyquist):
            raise ConfigError(f"{where}: bad frequency range: low_freq={self.low_freq}, "
                              f"high_freq={self.high_freq} (-> {high}) with Nyquist {nyquist}; "
                              "need 0 <= low < high <= Nyquist")
        return self.low_freq, high

    def check(self, where: str) -> None:
        super().check(where)
        if self.num_mel_bins < 3:
            raise ConfigError(f"{where}.num_mel_bins: must be >= 3, got {self.num_mel_bins}")
        if self.vtln_warp != 1.0:
            raise ConfigError(f"{where}.vtln_warp: {self.vtln_warp}: VTLN is not supported; remove the key "
                              "or set 1.0")
        self.mel_range(where)


@dataclass
class FbankOptions(MelOptions):
    use_energy: bool = False
    raw_energy: bool = True
    energy_floor: float = 0.0
    use_log_fbank: bool = True
    use_power: bool = True
    htk_compat: bool = False  # energy goes last instead of first


@dataclass
class MfccOptions(MelOptions):
    num_ceps: int = 13
    use_energy: bool = True  # replaces C0
    raw_energy: bool = True
    energy_floor: float = 0.0
    cepstral_lifter: float = 22.0
    htk_compat: bool = False

    def check(self, where: str) -> None:
        super().check(where)
        if not 1 <= self.num_ceps <= self.num_mel_bins:
            raise ConfigError(f"{where}.num_ceps: {self.num_ceps} must be in 1..num_mel_bins "
                              f"({self.num_mel_bins})")


@dataclass
class SpectrogramOptions(FrameOptions):
    raw_energy: bool = True
    energy_floor: float = 0.0


@dataclass
class VadOptions:
    vad_energy_threshold: float = 5.0
    vad_energy_mean_scale: float = 0.5
    vad_frames_context: int = 0
    vad_proportion_threshold: float = 0.6

    def check(self, where: str) -> None:
        if self.vad_frames_context < 0:
            raise ConfigError(f"{where}.vad_frames_context: must be >= 0, got {self.vad_frames_context}")
        if not 0.0 < self.vad_proportion_threshold < 1.0:
            raise ConfigError(f"{where}.vad_proportion_threshold: must be in (0, 1), "
                              f"got {self.vad_proportion_threshold}")


@dataclass
class SlidingCmvnOptions:
    cmn_window: int = 600
    min_cmn_window: int = 100
    center: bool = False
    norm_vars: bool = False

    def check(self, where: str) -> None:
        if self.cmn_window <= 0:
            raise ConfigError(f"{where}.cmn_window: must be > 0, got {self.cmn_window}")
        if self.center and not 0 < self.min_cmn_window <= self.cmn_window:
            raise ConfigError(f"{where}.min_cmn_window: must be in 1..cmn_window, got {self.min_cmn_window}")
