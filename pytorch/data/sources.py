"""Augmentation sources (MUSAN noise/music/speech, RIRs) read from Kaldi data dirs.

local/musan/prepare_data.sh and local/rirs/prepare_data.sh write these dirs: `wav.scp` (one entry
per file) and `utt2dur`. Knowing the duration lets the augmenter read only a random piece of a long
music or noise file instead of the whole file for every utterance.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import FormatError
from common.io import read_kv


@dataclass(frozen=True)
class Source:
    key: str
    rspec: str                 # wav.scp value: a path or a command ending in '|'
    num_samples: int | None    # from utt2dur when present


def load_sources(data_dir: str | os.PathLike, sample_rate: int, where: str) -> list[Source]:
    path = Path(data_dir)
    scp = path / "wav.scp"
    if not scp.exists():
        raise FormatError(f"{where}: {scp} not found; prepare it with local/musan/prepare_data.sh "
                          "or local/rirs/prepare_data.sh")
    wavs = read_kv(scp)
    if not wavs:
        raise FormatError(f"{where}: {scp} is empty")
    durs: dict[str, str] = read_kv(path / "utt2dur") if (path / "utt2dur").exists() else {}
    out = []
    for key, rspec in wavs.items():
        n = None
        if key in durs:
            try:
                n = int(float(durs[key]) * sample_rate)
            except ValueError:
                raise FormatError(f"{path / 'utt2dur'}: {key!r}: duration {durs[key]!r} is not a "
                                  "number") from None
        out.append(Source(key, rspec, n))
    return out
