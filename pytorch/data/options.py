"""The `data`, `augment` and `extract` config sections as strict dataclasses.

Unknown keys are ConfigErrors naming the key and the valid ones (a typo must not silently train
another system). Defaults follow Kaldi / WeSpeaker recipes: noise 0-15 dB, music 5-15 dB, babble
13-20 dB with 3-7 talkers, SpecAugment one 10-frame time mask and one 8-bin frequency mask.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from common.errors import ConfigError


def from_dict(cls: type, d: Mapping[str, Any] | None, where: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and checking `_choices`."""
    d = {} if d is None else d
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    for key in d:
        if key not in names:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(sorted(names))}")
    nested = getattr(cls, "_nested", {})
    kwargs = {k: (from_dict(nested[k], v, f"{where}.{k}") if k in nested else v) for k, v in d.items()}
    obj = cls(**kwargs)
    for key, valid in getattr(cls, "_choices", {}).items():
        if getattr(obj, key) not in valid:
            raise ConfigError(f"{where}.{key}: {getattr(obj, key)!r} is not one of "
                              f"{', '.join(map(str, valid))}")
    check = getattr(obj, "check", None)
    if check:
        check(where)
    return obj


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

    def section(self, name: str) -> Any:
        return getattr(self, name)

    def check(self, where: str) -> None:
        total = sum(self.section(t).prob for t in ("noise", "music", "babble", "reverb"))
        if total > 1.0 + 1e-9:
            raise ConfigError(f"{where}: noise+music+babble+reverb probabilities sum to {total:g} > 1 "
                              "(one choice per utterance; the rest is 'none')")

    @property
    def wave_level(self) -> bool:
        return any(self.section(t).prob > 0 for t in ("noise", "music", "babble", "reverb")) \
            or self.speed.prob > 0


def augment_options(section: Mapping[str, Any] | None) -> AugmentOptions:
    """Missing sub-sections keep their per-type defaults (e.g. babble's SNR range)."""
    section = dict(section or {})
    defaults = AugmentOptions()
    for key in list(section):
        if key in AugmentOptions._nested and isinstance(section[key], Mapping):
            merged = dataclasses.asdict(getattr(defaults, key))
            for k in section[key]:
                if k not in merged:
                    raise ConfigError(f"augment.{key}: unknown key {k!r}; valid keys: "
                                      f"{', '.join(sorted(merged))}")
            merged.update(section[key])
            section[key] = merged
    return from_dict(AugmentOptions, section, "augment")


@dataclass
class DataOptions:
    train: str | None = None
    valid: str | None = None
    mode: str = "feats"              # feats: feats.scp chunks; wave: wav.scp + on-the-fly fbank
    num_frames: int = 200            # chunk length in frames
    min_frames: int = 0              # drop utterances with fewer (voiced) frames
    short_utt: str = "repeat"        # utterances shorter than a chunk: repeat, or concat same-speaker clips
    sampler: str = "random"          # random | speaker_balanced
    utts_per_spk: int = 2            # M of the speaker-balanced sampler
    cmn: bool = True                 # mean-normalise each chunk over time
    use_vad: bool = True             # feats mode: select voiced frames when vad.scp exists (wave: no VAD)
    fbank_on: str = "cpu"            # wave mode: fbank in DataLoader workers (cpu) or in to_features (device)

    _choices = {"mode": ("feats", "wave"), "short_utt": ("repeat", "concat"),
                "sampler": ("random", "speaker_balanced"), "fbank_on": ("cpu", "device"),
                "cmn": (True, False), "use_vad": (True, False)}

    def check(self, where: str) -> None:
        if not isinstance(self.num_frames, int) or self.num_frames < 1:
            raise ConfigError(f"{where}.num_frames: a positive integer, got {self.num_frames!r}")
        if not isinstance(self.min_frames, int) or self.min_frames < 0:
            raise ConfigError(f"{where}.min_frames: a non-negative integer, got {self.min_frames!r}")


@dataclass
class ExtractOptions:
    max_chunk_frames: int = 0        # 0: whole utterances; N: chunks of at most N frames, embeddings averaged
    batch_size: int = 16             # chunks per forward pass (equal lengths only, so no padding)
    device: str = "cpu"

    _choices = {"device": ("cpu", "cuda")}

    def check(self, where: str) -> None:
        if not isinstance(self.max_chunk_frames, int) or self.max_chunk_frames < 0:
            raise ConfigError(f"{where}.max_chunk_frames: 0 or a positive integer, "
                              f"got {self.max_chunk_frames!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"{where}.batch_size: a positive integer, got {self.batch_size!r}")
