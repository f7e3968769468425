"""Small noise, music, babble-speech and RIR sets in the real MUSAN and RIRS_NOISES layouts.

Names and list files follow docs/data_formats.md sections 8-9, so local/musan/prepare_data.sh and
local/rirs/prepare_data.sh (and any code written for the real corpora) read them unchanged:
  musan/noise/{free-sound,sound-bible}/noise-<src>-NNNN.wav + ANNOTATIONS (one id a line)
  musan/music/fma/music-fma-NNNN.wav, music/hd-classical/music-hd-NNNN.wav + ANNOTATIONS
      (`<id> <genre> <Y|N vocals> <artist>`; files with vocals carry a sung voice)
  musan/speech/librivox/speech-librivox-NNNN.wav + ANNOTATIONS (`<id> <m|f> english`),
      musan/speech/us-gov/speech-us-gov-NNNN.wav (no ANNOTATIONS, as in MUSAN)
  RIRS_NOISES/simulated_rirs/{small,medium,large}room/RoomNNN/RoomNNN-NNNNN.wav + rir_list
  RIRS_NOISES/real_rirs_isotropic_noises/{rir_list,noise_list,*.wav} (one 2-channel RIR)
  RIRS_NOISES/pointsource_noises/{noise_list,noise-free-sound-NNNN.wav}
List paths are relative to the parent of RIRS_NOISES, as in the real lists.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from local.synthetic.noises import NOISES, room_impulse_response
from local.synthetic.rate import SR
from local.synthetic.sessions import active_power


@dataclass(frozen=True)
class AugFile:
    rel: str                    # path under the corpus dir
    kind: str                   # noise | music | speech | rir
    param: str = ""             # noise type, or 'Y'/'N' vocals, or gender, or 'lo-hi' RT60 range
    seconds: float = 5.0
    channels: int = 1


_ROOMS = {"smallroom": ("small", "0.15-0.35"), "mediumroom": ("medium", "0.3-0.6"),
          "largeroom": ("large", "0.5-0.9")}
_NOISE_KINDS = ["white", "pink", "brown", "hum", "crowd", "pink"]


def aug_files() -> list[AugFile]:
    out: list[AugFile] = []
    for i, k in enumerate(_NOISE_KINDS):
        out.append(AugFile(f"musan/noise/free-sound/noise-free-sound-{i:04d}.wav", "noise", k))
    for i, k in enumerate(["hum", "crowd"]):
        out.append(AugFile(f"musan/noise/sound-bible/noise-sound-bible-{i:04d}.wav", "noise", k))
    for i in range(4):
        out.append(AugFile(f"musan/music/fma/music-fma-{i:04d}.wav", "music", "Y" if i % 2 else "N", 8.0))
    for i in range(2):
        out.append(AugFile(f"musan/music/hd-classical/music-hd-{i:04d}.wav", "music", "N", 8.0))
    for i in range(4):
        out.append(AugFile(f"musan/speech/librivox/speech-librivox-{i:04d}.wav", "speech", "mf"[i % 2], 8.0))
    for i in range(2):
        out.append(AugFile(f"musan/speech/us-gov/speech-us-gov-{i:04d}.wav", "speech", "fm"[i % 2], 8.0))
    for size, (_, rt) in _ROOMS.items():
        for r in range(1, 3):
            for k in range(1, 4):
                out.append(AugFile(f"RIRS_NOISES/simulated_rirs/{size}/Room{r:03d}/Room{r:03d}-{k:05d}.wav",
                                   "rir", rt))
    real = "RIRS_NOISES/real_rirs_isotropic_noises"
    out.append(AugFile(f"{real}/RVB2014_type1_rir_largeroom1_1.wav", "rir", "0.6-0.8"))
    out.append(AugFile(f"{real}/air_type1_air_binaural_stairway_1_1_90.wav", "rir", "0.8-1.0", channels=2))
    out.append(AugFile(f"{real}/RVB2014_type1_noise_largeroom1_1.wav", "noise", "pink"))
    for i, k in enumerate(["white", "crowd"]):
        out.append(AugFile(f"RIRS_NOISES/pointsource_noises/noise-free-sound-{i:04d}.wav", "noise", k, 3.0))
    return out


def render_aug(f: AugFile, rng: np.random.Generator) -> np.ndarray:
    """The samples of one file ([n] or [n, channels]); speech is imported lazily (it imports us)."""
    n = int(f.seconds * SR)
    if f.kind == "noise":
        return 0.05 * NOISES[f.param](rng, n)
    if f.kind == "rir":
        lo, hi = (float(v) for v in f.param.split("-"))
        rt60 = float(rng.uniform(lo, hi))
        chans = [room_impulse_response(rng, rt60, float(rng.uniform(0, 8))) for _ in range(f.channels)]
        m = min(len(c) for c in chans)
        x = np.stack([c[:m] for c in chans], axis=1)
        return (0.5 * x / np.abs(x).max()).squeeze(1) if f.channels == 1 else 0.5 * x / np.abs(x).max()
    from local.synthetic.speak import n_samples, speak
    from local.synthetic.voices import sample_voice
    if f.kind == "music":
        x = NOISES["music"](rng, n)
        if f.param == "Y":
            voc = speak(sample_voice(rng), "singing", rng, n_samples(f.seconds)).wave[:n]
            x[: len(voc)] += 0.7 * voc
        return 0.05 * x / np.sqrt(active_power(x))
    v = sample_voice(rng, f.param)
    return 0.05 * speak(v, "speech", rng, n_samples(f.seconds)).wave


def list_files() -> dict[str, str]:
    """Relative path -> contents of every ANNOTATIONS / rir_list / noise_list file."""
    files = aug_files()
    out: dict[str, str] = {}

    def add(path: str, line: str) -> None:
        out[path] = out.get(path, "") + line + "\n"

    for f in files:
        d, base = os.path.split(f.rel)
        uid = base[:-4]
        if f.rel.startswith("musan/noise/"):
            add(f"{d}/ANNOTATIONS", uid)
        elif f.rel.startswith("musan/music/"):
            genre = "classical" if "hd-classical" in d else "pop,electronic"
            add(f"{d}/ANNOTATIONS", f"{uid} {genre} {f.param} synth-artist-{uid[-1]}")
        elif f.rel.startswith("musan/speech/librivox/"):
            add(f"{d}/ANNOTATIONS", f"{uid} {f.param} english")
        elif "/simulated_rirs/" in f.rel:
            size = f.rel.split("/")[2]
            room = f"{_ROOMS[size][0]}-{os.path.basename(d)}"
            add(f"RIRS_NOISES/simulated_rirs/{size}/rir_list",
                f"--rir-id {_ROOMS[size][0]}-{uid} --room-id {room} {f.rel}")
    real = "RIRS_NOISES/real_rirs_isotropic_noises"
    out[f"{real}/rir_list"] = (
        f"--rir-id 00001 --room-id RVB2014_largeroom1 {real}/RVB2014_type1_rir_largeroom1_1.wav\n"
        f"--rir-id 00002 --room-id AIR_stairway {real}/air_type1_air_binaural_stairway_1_1_90.wav\n")
    out[f"{real}/noise_list"] = ("--noise-id 00001 --noise-type isotropic --room-linkage RVB2014_largeroom1 "
                                 f"{real}/RVB2014_type1_noise_largeroom1_1.wav\n")
    out["RIRS_NOISES/pointsource_noises/noise_list"] = "".join(
        f"--noise-id noise-free-sound-{i:04d} --noise-type point-source --bg-fg-type foreground "
        f"RIRS_NOISES/pointsource_noises/noise-free-sound-{i:04d}.wav\n" for i in range(2))
    return out
