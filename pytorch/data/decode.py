"""Decode a wav.scp pipe (`cmd |`) once into an audio file, losslessly.

Why: a pipe runs its command at every read. Wave-mode training reads a random crop of every
utterance each epoch, so VoxCeleb2's m4a through ffmpeg costs one ffmpeg start and a whole decode
per crop: one loader worker ran at a ninth of its rate on files (BENCHMARKS.md, "Piped audio").

The samples are kept exactly: integer PCM of 8, 16 or 24 bits goes to FLAC (lossless, compressed),
anything else (32-bit integers, floats, mu-law ...) to WAV (32-bit integer, double, or float32,
which holds the float32 samples the readers return). The command that made a file is
stored in its comment tag, so a rerun keeps a file only when it came from the same command.
"""
from __future__ import annotations

import os
from pathlib import Path

import soundfile as sf

from pytorch.data.audio import AudioError, PipeOutput, file_info

BLOCK_FRAMES = 1 << 18          # frames per copied block: memory stays bounded for long recordings
_FLAC_SUBTYPES = {"PCM_S8": "PCM_S8", "PCM_U8": "PCM_S8", "PCM_16": "PCM_16", "PCM_24": "PCM_24"}
_WAV_SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
FORMATS = ("flac", "wav")


def target_format(subtype: str, fmt: str) -> tuple[str, str, str]:
    """(container, subtype, extension) that holds samples of `subtype` exactly, preferring `fmt`."""
    if fmt == "flac" and subtype in _FLAC_SUBTYPES:
        return "FLAC", _FLAC_SUBTYPES[subtype], ".flac"
    return "WAV", subtype if subtype in _WAV_SUBTYPES else "FLOAT", ".wav"


def decoded_path(out_dir: str | os.PathLike, reco: str, ext: str) -> Path:
    if "/" in reco or reco in (".", ".."):
        raise AudioError(f"recording {reco!r}: its id cannot be a file name (no '/' allowed); "
                         "rename the recording in wav.scp")
    return Path(out_dir) / f"{reco}{ext}"


def made_by(path: str | os.PathLike, spec: str) -> bool:
    """True when `path` is a complete file that `spec` made (its comment tag names `spec`)."""
    try:
        with sf.SoundFile(str(path)) as f:
            return f.comment == spec and f.frames > 0
    except (sf.LibsndfileError, RuntimeError, OSError):
        return False


def copy_audio(src: str, dst: str, container: str, subtype: str, comment: str) -> int:
    """Copy the samples of `src` into `dst` block by block; returns the frames copied."""
    # Integers are read left-justified in 32 bits and written back shifted: exact for 8-24 bits.
    dtype = "int32" if subtype.startswith("PCM") else "float64"
    n = 0
    with sf.SoundFile(src) as fin, sf.SoundFile(dst, "w", fin.samplerate, fin.channels, subtype,
                                                format=container) as fout:
        fout.comment = comment
        for block in fin.blocks(BLOCK_FRAMES, dtype=dtype, always_2d=True):
            fout.write(block)
            n += len(block)
    return n


def decode_pipe(spec: str, reco: str, out_dir: str | os.PathLike, fmt: str = "flac",
                pipes: PipeOutput | None = None, allow_truncated: bool = False) -> tuple[Path, bool]:
    """Run the wav.scp pipe `spec` of recording `reco` into <out_dir>/<reco>.flac (or .wav, see
    target_format). Returns (path, decoded): an existing file made by the same command is kept
    (decoded False). The file appears only when complete: it is written under a temporary name in
    `out_dir` and renamed."""
    if fmt not in FORMATS:
        raise ValueError(f"decode_pipe: format must be one of {FORMATS}, not {fmt!r}")
    spec = spec.strip()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for ext in (".flac", ".wav"):
        path = decoded_path(out_dir, reco, ext)
        if path.exists() and made_by(path, spec):
            return path, False
    own = pipes is None
    pipes = PipeOutput(out_dir, prefix=".decode-pipe.") if own else pipes
    try:
        raw = pipes.path(spec, reco)
        frames, _ = file_info(raw, reco, allow_truncated, spec)
        if frames == 0:
            raise AudioError(f"recording {reco}: empty audio (0 samples) from {spec!r}")
        container, subtype, ext = target_format(sf.info(raw).subtype, fmt)
        path = decoded_path(out_dir, reco, ext)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            copied = copy_audio(raw, str(tmp), container, subtype, spec)
            if copied != frames:
                raise AudioError(f"recording {reco}: read {copied} of the {frames} frames {spec!r} gave")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        if own:
            pipes.close()
    # A file of the other extension from an older run (e.g. --format wav before) is stale now.
    for ext in (".flac", ".wav"):
        other = decoded_path(out_dir, reco, ext)
        if other != path:
            other.unlink(missing_ok=True)
    return path, True
