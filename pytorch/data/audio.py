"""Read audio the way Kaldi data dirs describe it: wav.scp (file paths or `cmd |` pipes) plus
an optional `segments` file (`utt reco start end`, seconds; end -1 means to the end).

Samples come back as float32 in [-1, 1), or in int16 scale (times 32768, what Kaldi features
expect) with `int16_scale=True`. Every error names the utterance and the path or command.

Truncated files: libsndfile returns the frames present, so a WAV whose header promises 2.65 s but
whose file holds 0.6 s reads as 0.6 s. Every read compares the frames read with the header's count
(WAV/RF64 data size, AIFF COMM, FLAC STREAMINFO) and raises AudioError; `allow_truncated=True`
makes it a warning (once per file and process) and uses the frames present.
"""
from __future__ import annotations

import io
import logging
import os
import struct
import subprocess
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from common.errors import AsvError, FormatError
from common.io import read_kv, read_table
from pytorch.data.datadir import DataDir
from pytorch.data.sources import Source

logger = logging.getLogger(__name__)

MAX_SEGMENT_OVERSHOOT = 0.5  # seconds a segment may run past the recording end (Kaldi extract-segments)


class AudioError(AsvError, RuntimeError):
    """Audio that cannot be read or used; the message names the utterance and the path/command."""


def is_pipe(spec: str) -> bool:
    return spec.rstrip().endswith("|")


# WAV data sizes that mean "unknown length": streaming writers (sox to a pipe) cannot seek back to fix it.
_STREAM_SIZES = (0, 0xFFFFFFFF, 0x7FFFF000)
_warned: set[str] = set()


def _wav_frames(fh: BinaryIO, big_endian: bool, rf64: bool) -> int | None:
    """Frames promised by the fmt block size and the data chunk size of a RIFF/RIFX/RF64 file."""
    end = ">" if big_endian else "<"
    block_align = data_size = ds64_size = None
    while (hdr := fh.read(8)) and len(hdr) == 8:
        cid, size = hdr[:4], struct.unpack(end + "I", hdr[4:])[0]
        if cid == b"data":
            data_size = ds64_size if rf64 and size == 0xFFFFFFFF else size
            break
        if cid not in (b"fmt ", b"ds64"):
            fh.seek(size + size % 2, 1)
            continue
        body = fh.read(size + size % 2)
        if cid == b"fmt " and len(body) >= 14:
            block_align = struct.unpack(end + "H", body[12:14])[0]
        elif cid == b"ds64" and len(body) >= 16:
            ds64_size = struct.unpack("<Q", body[8:16])[0]
    if not block_align or data_size is None or (not rf64 and data_size in _STREAM_SIZES):
        return None
    return data_size // block_align


def _aiff_frames(fh: BinaryIO) -> int | None:
    while (hdr := fh.read(8)) and len(hdr) == 8:
        cid, size = hdr[:4], struct.unpack(">I", hdr[4:])[0]
        if cid == b"COMM":
            body = fh.read(6)
            return struct.unpack(">I", body[2:6])[0] if len(body) == 6 else None
        fh.seek(size + size % 2, 1)
    return None


def header_frames(fh: BinaryIO) -> int | None:
    """Frames a WAV (RIFF, RIFX, RF64) or AIFF header promises, read from the binary file `fh`;
    None for other formats or a streamed WAV without a length. libsndfile cannot tell us: it clamps
    its frame count to the bytes present."""
    head = fh.read(12)
    if len(head) < 12:
        return None
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return _wav_frames(fh, head[:4] == b"RIFX", head[:4] == b"RF64")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _aiff_frames(fh)
    return None


def _truncated(utt: str, spec: str, promised: int, present: int, rate: int, allow: bool) -> None:
    msg = (f"utterance {utt}: truncated audio in {spec!r}: its header promises {promised} frames "
           f"({promised / rate:.3f} s) but it holds {present} ({present / rate:.3f} s); re-create the file "
           "or remove the utterance (data.allow_truncated_audio: true or --allow-truncated-audio true "
           "uses what is there)")
    if not allow:
        raise AudioError(msg)
    if spec not in _warned:
        _warned.add(spec)
        logger.warning("%s", msg)


def _known_length(frames: int, utt: str, spec: str) -> None:
    # libsndfile's count for a FLAC stream whose writer could not seek back to fill in its length.
    if frames >= 1 << 62:
        raise AudioError(f"utterance {utt}: {spec!r} gives audio of unknown length (a FLAC stream written to a "
                         "pipe?); make the command write WAV, e.g. `sox ... -t wav -` or `ffmpeg ... -f wav -`")


def _promised(src: str | io.BytesIO) -> int | None:
    if isinstance(src, io.BytesIO):
        n = header_frames(src)
        src.seek(0)
        return n
    with open(src, "rb") as fh:
        return header_frames(fh)


def _read_checked(src: str | io.BytesIO, start: int, length: int | None, utt: str, spec: str,
                  allow_truncated: bool) -> tuple[np.ndarray, int]:
    """Frames [start, start+length) (to the end for None) as float32 [frames, channels], and the rate.

    The file is truncated when it holds fewer frames than its header promises (WAV, AIFF: libsndfile
    reports the frames present) or when a read stops before them (FLAC: libsndfile reports the header)."""
    try:
        promised = _promised(src)
        with sf.SoundFile(src) as f:
            rate = f.samplerate
            _known_length(f.frames, utt, spec)
            if promised is None and f.format == "FLAC" and f.frames > 0:
                promised = f.frames
            if promised is not None and f.frames < promised:
                _truncated(utt, spec, promised, f.frames, rate, allow_truncated)
                promised = f.frames
            if start >= f.frames > 0:  # past the frames present (allowed truncation, or utt2dur too long)
                x = np.zeros((0, f.channels), np.float32)
            else:
                f.seek(start)
                x = f.read(frames=-1 if length is None else length, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as e:
        if isinstance(src, str) and not os.path.exists(src):
            raise AudioError(f"utterance {utt}: audio file not found: {spec}") from None
        raise AudioError(f"utterance {utt}: cannot read audio from {spec!r}: {e}") from None
    if promised is not None:
        want = promised - start if length is None else min(length, promised - start)
        if x.shape[0] < want:
            _truncated(utt, spec, promised, start + x.shape[0], rate, allow_truncated)
    return x, int(rate)


def _decode(data: bytes | str, utt: str, spec: str, allow_truncated: bool) -> tuple[np.ndarray, int]:
    samples, rate = _read_checked(io.BytesIO(data) if isinstance(data, bytes) else data, 0, None, utt, spec,
                                  allow_truncated)
    if samples.shape[1] > 1:
        logger.warning("utterance %s: %d channels in %s, using the first", utt, samples.shape[1], spec)
    samples = np.ascontiguousarray(samples[:, 0])
    if samples.size == 0:
        raise AudioError(f"utterance {utt}: empty audio (0 samples) in {spec!r}")
    return samples, rate


def _run_command(spec: str, utt: str, stdout: int | BinaryIO = subprocess.PIPE) -> bytes | None:
    """Run a wav.scp pipe's command; its stdout goes to `stdout` (returned when it is a PIPE)."""
    cmd = spec.strip()[:-1].strip()
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], stdout=stdout, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        tail = f": {err[-1]}" if err else ""
        raise AudioError(f"utterance {utt}: command failed with exit status {proc.returncode}: {cmd!r}{tail}")
    return proc.stdout


def read_audio(spec: str, utt: str = "?", allow_truncated: bool = False) -> tuple[np.ndarray, int]:
    """One wav.scp value (a path, or a bash command ending in `|` that writes WAV to stdout)
    -> (float32 samples in [-1, 1), sample rate)."""
    spec = spec.strip()
    if not is_pipe(spec):
        return _decode(spec, utt, spec, allow_truncated)
    out = _run_command(spec, utt)
    if not out:
        raise AudioError(f"utterance {utt}: command wrote no audio: {spec[:-1].strip()!r}")
    return _decode(out, utt, spec, allow_truncated)


def pipe_to_file(spec: str, utt: str, path: str | os.PathLike) -> None:
    """Run a wav.scp pipe with its output going to `path`."""
    with open(path, "wb") as f:
        _run_command(spec, utt, f)
    if os.path.getsize(path) == 0:
        raise AudioError(f"utterance {utt}: command wrote no audio: {spec.strip()[:-1].strip()!r}")


def _unlink_own(path: str, pid: int) -> None:
    if os.getpid() == pid:   # a forked child exiting must not remove its parent's file
        Path(path).unlink(missing_ok=True)


class PipeOutput:
    """The output of the last wav.scp pipe it ran, kept in a temporary file, so that ranges of a
    recording (chunks of a long one, consecutive segments) are read from disk without running the
    command again for each, and without holding the recording in memory. One file at a time, in
    `directory` (default: the system's temporary directory); removed by close(), or at the latest
    when the object is collected or the process exits. Its name is <prefix>XXXXXXXX.wav.tmp: the
    job scripts remove a killed job's leftovers by that .tmp ending (utils/lib/jobs.sh)."""

    def __init__(self, directory: str | os.PathLike | None = None, prefix: str = ".asvlab-pipe.") -> None:
        self.directory, self.prefix = directory, prefix
        self._spec: str | None = None
        self._file: str | None = None
        self._pid = os.getpid()
        self._finalizer: weakref.finalize | None = None

    def path(self, spec: str, utt: str) -> str:
        """A file holding `spec`'s output (run now unless it was the last one run in this process)."""
        if self._file is None or self._pid != os.getpid():
            fd, self._file = tempfile.mkstemp(prefix=self.prefix, suffix=".wav.tmp", dir=self.directory)
            os.close(fd)
            self._pid, self._spec = os.getpid(), None
            self._finalizer = weakref.finalize(self, _unlink_own, self._file, self._pid)
        if spec != self._spec:
            self._spec = None          # a failed run leaves nothing that looks like its output
            pipe_to_file(spec, utt, self._file)
            self._spec = spec
        return self._file

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._file = self._spec = None


def file_info(path: str, utt: str, allow_truncated: bool = False, spec: str | None = None) -> tuple[int, int]:
    """(frames present, sample rate) of an audio file from its header, checked against the bytes
    present; `spec` is what errors name (default `path`)."""
    spec = path if spec is None else spec
    try:
        info = sf.info(path)
        promised = _promised(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        if not os.path.exists(path):
            raise AudioError(f"utterance {utt}: audio file not found: {spec}") from None
        raise AudioError(f"utterance {utt}: cannot read audio header of {spec}: {e}") from None
    _known_length(info.frames, utt, spec)
    if promised is not None and info.frames < promised:
        _truncated(utt, spec, promised, info.frames, info.samplerate, allow_truncated)
    return info.frames, info.samplerate


def audio_duration(spec: str, utt: str = "?", allow_truncated: bool = False,
                   pipes: PipeOutput | None = None) -> float:
    """Seconds of audio: from the header for files (checked against the bytes present); for pipes,
    from their output, which goes to a temporary file (`pipes`' if given, kept there for the reads
    that follow) rather than into memory."""
    spec = spec.strip()
    if not is_pipe(spec):
        frames, rate = file_info(spec, utt, allow_truncated)
        return frames / rate
    own = pipes is None
    pipes = PipeOutput() if own else pipes
    try:
        frames, rate = file_info(pipes.path(spec, utt), utt, allow_truncated, spec)
    finally:
        if own:
            pipes.close()
    if frames == 0:
        raise AudioError(f"utterance {utt}: empty audio (0 samples) in {spec!r}")
    return frames / rate


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


def segment_bounds(n: int, rate: int, start: float, end: float, utt: str, spec: str) -> tuple[int, int]:
    """Samples [first, last) of segment [start, end) seconds in a recording of `n` samples: rounded
    to the nearest index, and clipped to the recording when the end runs past it by at most
    MAX_SEGMENT_OVERSHOOT seconds."""
    first = int(round(start * rate))
    last = n if end == -1 else int(round(end * rate))
    if first >= n or last > n + MAX_SEGMENT_OVERSHOOT * rate:
        raise AudioError(f"utterance {utt}: segment {start}-{end} s lies outside the recording "
                         f"({n / rate:.3f} s) read from {spec!r}")
    last = min(last, n)
    if last <= first:
        raise AudioError(f"utterance {utt}: empty segment {start}-{end} s of {spec!r}")
    return first, last


def cut_segment(samples: np.ndarray, rate: int, start: float, end: float, utt: str, spec: str) -> np.ndarray:
    """Slice [start, end) seconds (segment_bounds)."""
    first, last = segment_bounds(samples.size, rate, start, end, utt, spec)
    return samples[first:last]


def iter_data_dir(data_dir: str | os.PathLike, sample_rate: int | None = None,
                  int16_scale: bool = False, allow_truncated: bool = False
                  ) -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield (utt, samples float32, rate) in file order for <data_dir>/wav.scp (+ segments).

    sample_rate: if given, a recording at another rate is an AudioError.
    allow_truncated: a file shorter than its header says is a warning, not an AudioError.
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
            samples, rate = read_audio(spec, utt, allow_truncated)
            if sample_rate is not None and rate != sample_rate:
                raise AudioError(f"utterance {utt}: sample rate {rate} Hz in {spec!r}, "
                                 f"expected {sample_rate} Hz "
                                 f"(resample the data or set sample_frequency in the feature config)")
            cached = (reco, samples, rate)
        _, samples, rate = cached
        if has_segments:
            samples = cut_segment(samples, rate, start, end, utt, spec)
        yield utt, (samples * 32768.0 if int16_scale else samples), rate


def read_range(rspec: str, start: int, length: int | None, utt: str, rate: int,
               allow_truncated: bool = False, pipes: PipeOutput | None = None) -> np.ndarray:
    """Samples [start, start+length) of a wav.scp entry (first channel), float32 in [-1, 1).

    Plain files are read in place (soundfile seeks). Pipes are run and sliced, or with `pipes`, run
    into its file (once for consecutive reads of the same entry) and read from there in place.
    """
    name = rspec
    if pipes is not None and is_pipe(rspec):
        rspec = pipes.path(rspec.strip(), utt)
    if not is_pipe(rspec):
        x, sr = _read_checked(rspec.strip(), start, length, utt, name, allow_truncated)
        x = x[:, 0]
    else:
        x, sr = read_audio(rspec, utt, allow_truncated)
        x = x[start:] if length is None else x[start:start + length]
    if sr != rate:
        raise AudioError(f"utterance {utt}: sample rate {sr} Hz in {name!r}, expected {rate} Hz "
                         "(resample the data or set features.sample_frequency)")
    return np.ascontiguousarray(x, dtype=np.float32)


class SourceLoader:
    """Picklable reader of augmentation sources for the Augmenter (spawned workers need pickling)."""

    def __init__(self, rate: int, allow_truncated: bool = False) -> None:
        self.rate = rate
        self.allow_truncated = allow_truncated

    def __call__(self, src: Source, start: int, length: int | None) -> np.ndarray:
        return read_range(src.rspec, start, length, src.key, self.rate, self.allow_truncated)


@dataclass(frozen=True)
class WaveEntry:
    utt: str
    rspec: str          # wav.scp value of the recording
    offset: int         # first sample of the utterance in the recording (segments)
    num_samples: int


def wave_entries(dd: DataDir, rate: int, allow_truncated: bool = False,
                 pipes: PipeOutput | None = None) -> list[WaveEntry]:
    """Per utterance: recording, offset and length in samples (utt2dur / segments / headers; a pipe
    without utt2dur is run, into `pipes` when given)."""
    if not dd.has("wav.scp"):
        raise FormatError(f"{dd.file('wav.scp')}: missing; data.mode: wave reads the audio")
    wav = read_kv(dd.file("wav.scp"))
    segs = {u: (r, s, e) for u, r, s, e in read_segments(dd.file("segments"))} if dd.has("segments") else {}
    durs = read_kv(dd.file("utt2dur")) if dd.has("utt2dur") else {}
    out = []
    for utt in dd.utts:
        reco, start, end = segs.get(utt, (utt, 0.0, -1.0))
        if reco not in wav:
            raise FormatError(f"{dd.file('wav.scp')}: no entry for {reco!r} (utterance {utt}); "
                              "run utils/fix_data_dir.sh")
        if utt in durs:
            dur = float(durs[utt])
        elif end != -1:
            dur = end - start
        else:
            dur = audio_duration(wav[reco], utt, allow_truncated, pipes) - start
        out.append(WaveEntry(utt, wav[reco], int(round(start * rate)), int(dur * rate)))
    return out
