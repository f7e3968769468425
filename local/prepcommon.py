"""What the corpus data preps of local/ share: writing a Kaldi data dir atomically, finding an audio file
whatever its extension, checking that audio files are complete, and comparing counts with a release's.

Kept in local/ (not common/) because only the data preps use it and it reads audio (the WAV header parser
is pytorch.data.audio's, the one the readers use).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import soundfile as sf

from common.errors import FormatError
from pytorch.data.audio import header_frames

log = logging.getLogger(__name__)

AUDIO_EXTS = (".flac", ".wav")


def write_dir(out: str, name: str, files: Mapping[str, Iterable[str]]) -> str:
    """Write `files` (relative name -> lines; names may hold a sub-folder, e.g. trials/vox1_O) under a
    temporary dir in `out`, then rename it to out/name, replacing an older one. Returns the path."""
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", dir=out)
    try:
        for fname, lines in files.items():
            path = os.path.join(tmp, fname)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.writelines(line + "\n" for line in lines)
        dst = os.path.join(out, name)
        shutil.rmtree(dst, ignore_errors=True)
        os.rename(tmp, dst)
        return dst
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def kaldi_files(utts: Mapping[str, tuple[str, str]], **extra: Mapping[str, str]) -> dict[str, list[str]]:
    """wav.scp, utt2spk, spk2utt (and one `utt2<name>` file per keyword) of {utt: (spk, wav.scp value)},
    in LC_ALL=C order. Utterance ids must start with their speaker id (Kaldi sorts both files alike)."""
    ids = sorted(utts)
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for u in ids:
        spk2utt[utts[u][0]].append(u)
    files = {"wav.scp": [f"{u} {utts[u][1]}" for u in ids],
             "utt2spk": [f"{u} {utts[u][0]}" for u in ids],
             "spk2utt": [f"{s} {' '.join(spk2utt[s])}" for s in sorted(spk2utt)]}
    for name, m in extra.items():
        files[f"utt2{name}"] = [f"{u} {m[u]}" for u in ids]
    return files


class DirIndex:
    """Names of the files in folders, listed once per folder (one listdir, not one stat per file)."""

    def __init__(self) -> None:
        self._cache: dict[str, frozenset[str]] = {}

    def names(self, d: str) -> frozenset[str]:
        if d not in self._cache:
            self._cache[d] = frozenset(os.listdir(d)) if os.path.isdir(d) else frozenset()
        return self._cache[d]

    def find(self, stem_path: str, exts: tuple[str, ...] = AUDIO_EXTS) -> str | None:
        """stem_path + the first of `exts` that exists (lists name `.wav` where a release has `.flac`)."""
        d, stem = os.path.split(stem_path)
        have = self.names(d)
        for e in exts:
            if stem + e in have:
                return os.path.join(d, stem + e)
        return None


def strip_audio_ext(path: str) -> str:
    root, ext = os.path.splitext(path)
    return root if ext.lower() in (".wav", ".flac", ".m4a") else path


def _wav_problem(path: str) -> str | None:
    """A WAV holding fewer frames than its header promises (libsndfile reports the frames present)."""
    with open(path, "rb") as fh:
        promised = header_frames(fh)
    present = sf.info(path).frames
    if promised is not None and present < promised:
        return f"truncated: its header promises {promised} frames, the file holds {present}"
    return None


def _flac_problem(path: str) -> str | None:
    """Decode the last sample: a cut FLAC keeps its header (frame count) but cannot seek to the end."""
    try:
        with sf.SoundFile(path) as s:
            if s.frames == 0:
                return "no samples"
            s.seek(s.frames - 1)
            if len(s.read(1)) != 1:
                return f"truncated: cannot read sample {s.frames} of {s.frames}"
    except (sf.LibsndfileError, RuntimeError) as e:
        return f"unreadable or truncated ({str(e).strip()})"
    return None


def audio_problem(path: str) -> str | None:
    """None when the file looks complete, else why not. WAV and FLAC are checked; other formats
    (m4a) only for being non-empty."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file"
        ext = os.path.splitext(path)[1].lower()
        if ext == ".wav":
            return _wav_problem(path)
        if ext == ".flac":
            return _flac_problem(path)
    except (OSError, sf.LibsndfileError, RuntimeError) as e:
        return f"cannot read ({getattr(e, 'strerror', None) or str(e).strip()})"
    return None


def check_audio(paths: Iterable[tuple[str, str]], nj: int = 4) -> None:
    """Raise on the first (in input order) of (path, where-it-is-listed) whose audio is incomplete.
    The checks are I/O bound, so threads overlap them."""
    items = list(paths)
    with ThreadPoolExecutor(max(1, nj)) as ex:
        for (path, where), why in zip(items, ex.map(audio_problem, (p for p, _ in items), chunksize=256)):
            if why:
                raise FormatError(f"{where}: {path}: {why}; copy the file again from the release "
                                  "(or rerun with --check-audio false to skip this check)")
    log.info("checked %d audio files", len(items))


def compare_published(name: str, got: Mapping[str, int], published: Mapping[str, int], source: str) -> bool:
    """Log the counts of one output; warn where they differ from the full release's (a partial copy or a
    different release version). Returns True when all agree."""
    counts = ", ".join(f"{k}={v:,}" for k, v in got.items())
    bad = [k for k in published if got.get(k) != published[k]]
    if bad:
        log.warning("%s: %s; the full release has %s (%s) -- a partial copy or another version?",
                    name, counts, ", ".join(f"{k}={published[k]:,}" for k in bad), source)
    else:
        log.info("%s: %s (as published)", name, counts)
    return not bad
