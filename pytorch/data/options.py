"""The `data`, `augment` and `extract` config sections (and the loader keys of `train`) as strict
dataclasses, built by common.registry.build_options.

Unknown keys are ConfigErrors naming the key and the valid ones (a typo must not silently train
another system). Defaults follow Kaldi / WeSpeaker recipes: noise 0-15 dB, music 5-15 dB, babble
13-20 dB with 3-7 talkers, SpecAugment one 10-frame time mask and one 8-bin frequency mask.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.errors import ConfigError
from common.registry import build_options


def _range(val: Any, where: str, name: str) -> None:
    if not (isinstance(val, (list, tuple)) and len(val) == 2 and val[0] <= val[1]):
        raise ConfigError(f"{where}.{name}: expected [low, high] with low <= high, got {val!r}")


def _prob(val: Any, where: str) -> None:
    if not (isinstance(val, (int, float)) and 0.0 <= val <= 1.0):
        raise ConfigError(f"{where}.prob: expected a probability in [0, 1], got {val!r}")


@dataclass
class AdditiveOptions:
    data: str | None = None   # MUSAN-layout data dir (wav.scp, utt2dur)
    prob: float = 0.0         # probability that an utterance gets this augmentation
    snr: list[float] = field(default_factory=lambda: [0.0, 15.0])
    num_speakers: list[int] = field(default_factory=lambda: [1, 1])  # babble talkers summed

    def check(self, where: str) -> None:
        _prob(self.prob, where)
        _range(self.snr, where, "snr")
        _range(self.num_speakers, where, "num_speakers")
        if self.num_speakers[0] < 1:
            raise ConfigError(f"{where}.num_speakers: at least one talker, got {self.num_speakers!r}")


@dataclass
class ReverbOptions:
    data: str | None = None   # RIRS_NOISES-layout data dir
    prob: float = 0.0

    def check(self, where: str) -> None:
        _prob(self.prob, where)


@dataclass
class SpeedOptions:
    speeds: list[float] = field(default_factory=lambda: [0.9, 1.1])
    prob: float = 0.0          # probability of a non-1.0 speed; each speed is a new set of speakers

    def check(self, where: str) -> None:
        _prob(self.prob, where)
        if not self.speeds or any(not isinstance(s, (int, float)) or s <= 0 or s == 1.0 for s in self.speeds):
            raise ConfigError(f"{where}.speeds: positive factors other than 1.0, got {self.speeds!r}")


@dataclass
class SpecAugOptions:
    prob: float = 0.0
    num_time_masks: int = 1
    max_time_width: int = 10
    num_freq_masks: int = 1
    max_freq_width: int = 8

    def check(self, where: str) -> None:
        _prob(self.prob, where)


def _noise() -> AdditiveOptions:
    return AdditiveOptions(snr=[0.0, 15.0])


def _music() -> AdditiveOptions:
    return AdditiveOptions(snr=[5.0, 15.0])


def _babble() -> AdditiveOptions:
    return AdditiveOptions(snr=[13.0, 20.0], num_speakers=[3, 7])


@dataclass
class AugmentOptions:
    noise: AdditiveOptions = field(default_factory=_noise)
    music: AdditiveOptions = field(default_factory=_music)
    babble: AdditiveOptions = field(default_factory=_babble)
    reverb: ReverbOptions = field(default_factory=ReverbOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    specaug: SpecAugOptions = field(default_factory=SpecAugOptions)

    _nested = {"noise": AdditiveOptions, "music": AdditiveOptions, "babble": AdditiveOptions,
               "reverb": ReverbOptions, "speed": SpeedOptions, "specaug": SpecAugOptions}

    def check(self, where: str) -> None:
        total = sum(getattr(self, t).prob for t in ("noise", "music", "babble", "reverb"))
        if total > 1.0 + 1e-9:
            raise ConfigError(f"{where}: noise+music+babble+reverb probabilities sum to {total:g} > 1 "
                              "(one choice per utterance; the rest is 'none')")

    @property
    def wave_level(self) -> bool:
        return any(getattr(self, t).prob > 0 for t in ("noise", "music", "babble", "reverb")) \
            or self.speed.prob > 0


def augment_options(section: Mapping[str, Any] | None) -> AugmentOptions:
    """Missing keys of a sub-section keep that type's defaults (e.g. babble's SNR range), not the
    generic AdditiveOptions ones."""
    section = dict(section or {})
    defaults = AugmentOptions()
    for key, sub in section.items():
        if key in AugmentOptions._nested and isinstance(sub, Mapping):
            section[key] = {**dataclasses.asdict(getattr(defaults, key)), **sub}
    return build_options(AugmentOptions, section, "augment")


@dataclass
class DataOptions:
    train: str | None = None
    valid: str | None = None
    mode: str = "feats"              # feats: feats.scp chunks; wave: wav.scp + on-the-fly fbank;
                                     # mixture: wave-mode speakers mixed on the fly (multi-identity models)
    num_frames: int = 200            # chunk length in frames
    min_frames: int = 0              # drop utterances with fewer (voiced) frames
    short_utt: str = "repeat"        # utterances shorter than a chunk: repeat, or concat same-speaker clips
    sampler: str = "random"          # random | speaker_balanced
    utts_per_spk: int = 2            # M of the speaker-balanced sampler
    cmn: bool = True                 # mean normalisation over time (of each chunk, or see cmn_window)
    cmn_window: int = 0              # feats mode, with cmn: N > 0 = Kaldi sliding CMN (centred, N frames)
                                     # over the whole utterance before VAD, instead of per-chunk CMN
    use_vad: bool = True             # feats mode: select voiced frames when vad.scp exists (wave: no VAD)
    fbank_on: str = "cpu"            # wave mode: fbank in DataLoader workers (cpu) or in to_features (device)
    allow_truncated_audio: bool = False  # wave mode: a file shorter than its header says warns, not fails
    mix_speakers: int = 2            # mixture mode: speakers per on-the-fly mixture (new pairs every epoch)
    mix_sir: list[float] = field(default_factory=lambda: [0.0, 0.0])  # mixture mode: SIR range (dB)

    _choices = {"mode": ("feats", "wave", "mixture"), "short_utt": ("repeat", "concat"),
                "sampler": ("random", "speaker_balanced"), "fbank_on": ("cpu", "device")}

    def check(self, where: str) -> None:
        if self.num_frames < 1:
            raise ConfigError(f"{where}.num_frames: a positive integer, got {self.num_frames!r}")
        if self.min_frames < 0:
            raise ConfigError(f"{where}.min_frames: a non-negative integer, got {self.min_frames!r}")
        if self.cmn_window < 0:
            raise ConfigError(f"{where}.cmn_window: 0 (per-chunk CMN) or a window in frames, "
                              f"got {self.cmn_window!r}")
        if self.cmn_window > 0 and not self.cmn:
            raise ConfigError(f"{where}.cmn_window: {self.cmn_window} needs cmn: true (it picks the kind of "
                              "CMN); set cmn_window: 0 or cmn: true")
        if self.mode == "mixture" and self.mix_speakers < 2:
            raise ConfigError(f"{where}.mix_speakers: a mixture has at least 2 speakers, got {self.mix_speakers!r}")
        _range(self.mix_sir, where, "mix_sir")
        if self.cmn_window > 0 and self.mode != "feats":
            raise ConfigError(f"{where}.cmn_window: sliding CMN needs whole utterances, i.e. mode: feats "
                              "(wave mode crops raw audio); set cmn_window: 0")

    @property
    def chunk_cmn(self) -> bool:
        """Mean-normalise each chunk (training) / utterance (extraction) after VAD."""
        return self.cmn and self.cmn_window == 0


@dataclass
class LoaderOptions:
    """The keys of the `train` section that the data loader reads; TrainOptions (the whole section)
    extends this class, so the defaults live here once."""
    batch_size: int = 32              # per process; the global batch is batch_size x world size
    num_workers: int = 0
    seed: int = 0

    def check(self, where: str) -> None:
        for key, low in (("batch_size", 1), ("num_workers", 0)):
            if getattr(self, key) < low:
                raise ConfigError(f"{where}.{key}: expected an integer >= {low}, got {getattr(self, key)!r}")


def loader_options(train_section: Mapping[str, Any] | None) -> LoaderOptions:
    """LoaderOptions from the `train` section; its other keys are TrainOptions' to check."""
    if isinstance(train_section, Mapping):
        names = {f.name for f in dataclasses.fields(LoaderOptions)}
        train_section = {k: v for k, v in train_section.items() if k in names}
    return build_options(LoaderOptions, train_section, "train")


@dataclass
class ExtractOptions:
    max_chunk_frames: int = 0        # 0: whole utterances; N: chunks of at most N frames, embeddings averaged
    batch_size: int = 16             # chunks per forward pass (equal lengths only, so no padding)
    device: str = "cpu"
    use_vad: bool | None = None      # feats mode: None = follow data.use_vad; false = all frames (Subtools)

    _choices = {"device": ("cpu", "cuda")}

    def check(self, where: str) -> None:
        if not (self.use_vad is None or isinstance(self.use_vad, bool)):
            raise ConfigError(f"{where}.use_vad: true, false or null (follow data.use_vad), got {self.use_vad!r}")
        if self.max_chunk_frames < 0:
            raise ConfigError(f"{where}.max_chunk_frames: 0 or a positive integer, "
                              f"got {self.max_chunk_frames!r}")
        if self.batch_size < 1:
            raise ConfigError(f"{where}.batch_size: a positive integer, got {self.batch_size!r}")
