"""Read audio the way Kaldi data dirs describe it: wav.scp (file paths or `cmd |` pipes) plus
an optional `segments` file (`utt reco start end`, seconds; end -1 means to the end).

Samples come back as float32 in [-1, 1), or in int16 scale (times 32768, what Kaldi features
expect) with `int16_scale=True`. Every error names the utterance and the path or command.
"""
from __future__ import annotations

import io
import logging
import os
import subprocess
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from common.errors import AsvError, FormatError
from common.io import read_kv, read_table

logger = logging.getLogger(__name__)

MAX_SEGMENT_OVERSHOOT = 0.5  # seconds a segment may run past the recording end (Kaldi extract-segments)


class AudioError(AsvError, RuntimeError):
    """Audio that cannot be read or used; the message names the utterance and the path/command."""


def is_pipe(spec: str) -> bool:
    return spec.rstrip().endswith("|")


def _decode(data: bytes | str, utt: str, spec: str) -> tuple[np.ndarray, int]:
    try:
        samples, rate = sf.read(io.BytesIO(data) if isinstance(data, bytes) else data,
                                dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as e:
        if isinstance(data, str) and not os.path.exists(data):
            raise AudioError(f"utterance {utt}: audio file not found: {spec}") from None
        raise AudioError(f"utterance {utt}: cannot read audio from {spec!r}: {e}") from None
    if samples.shape[1] > 1:
        logger.warning("utterance %s: %d channels in %s, using the first", utt, samples.shape[1], spec)
    samples = np.ascontiguousarray(samples[:, 0])
    if samples.size == 0:
        raise AudioError(f"utterance {utt}: empty audio (0 samples) in {spec!r}")
    return samples, int(rate)


def read_audio(spec: str, utt: str = "?") -> tuple[np.ndarray, int]:
    """One wav.scp value (a path, or a bash command ending in `|` that writes WAV to stdout)
    -> (float32 samples in [-1, 1), sample rate)."""
    spec = spec.strip()
    if not is_pipe(spec):
        return _decode(spec, utt, spec)
    cmd = spec[:-1].strip()
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        tail = f": {err[-1]}" if err else ""
        raise AudioError(f"utterance {utt}: command failed with exit status {proc.returncode}: {cmd!r}{tail}")
    if not proc.stdout:
        raise AudioError(f"utterance {utt}: command wrote no audio: {cmd!r}")
    return _decode(proc.stdout, utt, spec)


def audio_duration(spec: str, utt: str = "?") -> float:
    """Seconds of audio: from the header for files, by running the command for pipes."""
    spec = spec.strip()
    if is_pipe(spec):
        samples, rate = read_audio(spec, utt)
        return samples.size / rate
    try:
        info = sf.info(spec)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        if not os.path.exists(spec):
            raise AudioError(f"utterance {utt}: audio file not found: {spec}") from None
        raise AudioError(f"utterance {utt}: cannot read audio header of {spec}: {e}") from None
    return info.frames / info.samplerate


def read_segments(path: str | os.PathLike) -> list[tuple[str, str, float, float]]:
    """`utt reco start end` rows (seconds); end -1 means the end of the recording."""
    out = []
    for utt, reco, start, end in read_table(path, 4, 4):
        try:
            s, e = float(start), float(end)
        except ValueError:
            raise FormatError(f"{path}: segment {utt}: start/end must be numbers, "
                              f"got {start!r} {end!r}") from None
        if s < 0 or (e != -1 and e <= s):
            raise FormatError(f"{path}: segment {utt}: need 0 <= start < end (or end -1), got {start} {end}")
        out.append((utt, reco, s, e))
    return out


def cut_segment(samples: np.ndarray, rate: int, start: float, end: float, utt: str, spec: str) -> np.ndarray:
    """Slice [start, end) seconds; samples are rounded to the nearest index."""
    n = samples.size
    first = int(round(start * rate))
    last = n if end == -1 else int(round(end * rate))
    if first >= n or last > n + MAX_SEGMENT_OVERSHOOT * rate:
        raise AudioError(f"utterance {utt}: segment {start}-{end} s lies outside the recording "
                         f"({n / rate:.3f} s) read from {spec!r}")
    out = samples[first:min(last, n)]
    if out.size == 0:
        raise AudioError(f"utterance {utt}: empty segment {start}-{end} s of {spec!r}")
    return out


def iter_data_dir(data_dir: str | os.PathLike, sample_rate: int | None = None,
                  int16_scale: bool = False) -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield (utt, samples float32, rate) in file order for <data_dir>/wav.scp (+ segments).

    sample_rate: if given, a recording at another rate is an AudioError.
    A recording is read once for consecutive segments that come from it.
    """
    data_dir = Path(data_dir)
    wav_scp = read_kv(data_dir / "wav.scp")
    seg_path = data_dir / "segments"
    has_segments = seg_path.exists()
    if has_segments:
        items = read_segments(seg_path)
    else:
        items = [(utt, utt, 0.0, -1.0) for utt in wav_scp]
    cached: tuple[str, np.ndarray, int] | None = None
    for utt, reco, start, end in items:
        if reco not in wav_scp:
            raise AudioError(f"utterance {utt}: recording {reco!r} from {seg_path} "
                             f"is not in {data_dir}/wav.scp")
        spec = wav_scp[reco]
        if cached is None or cached[0] != reco:
            samples, rate = read_audio(spec, utt)
            if sample_rate is not None and rate != sample_rate:
                raise AudioError(f"utterance {utt}: sample rate {rate} Hz in {spec!r}, "
                                 f"expected {sample_rate} Hz "
                                 f"(resample the data or set sample_frequency in the feature config)")
            cached = (reco, samples, rate)
        _, samples, rate = cached
        if has_segments:
            samples = cut_segment(samples, rate, start, end, utt, spec)
        yield utt, (samples * 32768.0 if int16_scale else samples), rate
