"""Embedding extraction: whole utterances or fixed-length chunks, batched without padding.

Input rule (the same as training): in feats mode the voiced frames when vad.scp exists (all frames
for an utterance with none voiced, so it still gets an embedding); in wave mode the fbank of the
whole utterance (no VAD, as in wave-mode training); then per-chunk mean normalisation when the
training config has data.cmn. With data.cmn_window N > 0 (feats mode) the whole utterance is instead
sliding-CMN'd (Kaldi, centred, N frames) before the VAD selection, as Kaldi / ASV-Subtools extract;
extract.use_vad: false extracts from all frames (ASV-Subtools' extraction).
With `max_chunk_frames` C > 0 an utterance longer than C is cut into ceil(T / C) chunks of exactly
C frames, evenly spread (the last ones overlap a little), and its embedding is the mean of the chunk
embeddings. Chunks are batched only with chunks of the same length, longest first, so no padding
ever reaches the model and a batch gives the same embeddings as one-by-one extraction. With
`padded` (a model that takes `model(feats, lengths)`, pytorch.models.masking) chunks of different
lengths share a batch instead, zero-padded to its longest and masked by the model, with the same
embeddings; a batch closes when full or when the next chunk is shorter than (1 - MAX_PAD) times
its longest, which bounds the padded compute. A NaN or inf
in an utterance's input or embedding is an error naming it, so no table with NaN rows (and NaN
speaker means) is ever written.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from common.errors import AsvError, ConfigError, FormatError
from pytorch.chunked import embed_long
from pytorch.data.audio import PipeOutput, read_range, wave_entries
from pytorch.data.chunks import cmn, read_voiced, sliding_cmn
from pytorch.data.datadir import DataDir, load_vad, voiced_counts
from pytorch.data.featreader import FeatReader
from pytorch.features import from_config

log = logging.getLogger(__name__)

MAX_PAD = 0.2


def chunk_starts(num_frames: int, max_chunk: int) -> np.ndarray:
    """Starts of the chunks of an utterance: [0] when it fits, else evenly spread C-frame chunks."""
    if max_chunk <= 0 or num_frames <= max_chunk:
        return np.zeros(1, dtype=np.int64)
    n = -(-num_frames // max_chunk)
    return np.round(np.linspace(0, num_frames - max_chunk, n)).astype(np.int64)


@dataclass
class InputSource:
    """The model input of each utterance: `lengths[u]` frames, loaded by `load(u)` as [T, F]."""
    utts: list[str]
    lengths: dict[str, int]
    load: Callable[[str], np.ndarray]
    # read(u, start, length) = load(u)[start:start + length] without loading the rest (long
    # recordings in bounded memory); None where a frame depends on the whole utterance.
    read: Callable[[str, int, int], np.ndarray] | None = None


def feats_source(dd: DataDir, use_vad: bool, cmn_window: int = 0) -> InputSource:
    """Features of feats.scp; voiced frames only with `use_vad` and a vad.scp; with `cmn_window` > 0
    sliding CMN over the whole utterance first."""
    if not dd.has("feats.scp"):
        raise FormatError(f"{dd.file('feats.scp')}: missing; compute features for this data dir (stage 1)")
    reader = FeatReader(dd.table("feats.scp"), str(dd.file("feats.scp")))
    infos = {u: reader.info(u) for u in dd.utts}
    lengths = {u: i.rows for u, i in infos.items()}
    vad = dd.table("vad.scp") if use_vad and dd.has("vad.scp") else None
    if vad is not None:
        counts = voiced_counts(dd.file("vad.scp"), dd.utts)
        lengths = {u: int(c) if c > 0 else lengths[u] for u, c in zip(dd.utts, counts)}

    def load(utt: str) -> np.ndarray:
        mat = reader.read(utt, 0, None, infos[utt])
        if cmn_window > 0:
            mat = sliding_cmn(mat, cmn_window)
        if vad is None:
            return mat
        mask = load_vad(vad[utt], utt, str(dd.file("vad.scp")))
        if mask.size != mat.shape[0]:
            raise FormatError(f"{dd.file('vad.scp')}: VAD of {utt!r} has {mask.size} frames, features "
                              f"{mat.shape[0]}; recompute vad.scp")
        if not mask.any():
            log.warning("%s: no voiced frame, using all %d frames", utt, mat.shape[0])
            return mat
        return mat[mask]

    def read(utt: str, start: int, length: int) -> np.ndarray:
        mask = load_vad(vad[utt], utt, str(dd.file("vad.scp"))) if vad is not None else None
        if mask is not None and not mask.any():
            mask = None                 # as load(): all frames when none is voiced
        return read_voiced(reader, utt, infos[utt], mask, start, min(length, lengths[utt] - start))
    return InputSource(dd.utts, lengths, load, read if cmn_window <= 0 else None)


def wave_source(dd: DataDir, features_cfg: dict | None) -> InputSource:
    """On-the-fly fbank of the whole utterance, dither off so embeddings are deterministic. Like
    wave-mode training (which crops raw audio), no VAD is applied."""
    cfg = dict(features_cfg or {})
    cfg["dither"] = 0.0
    fbank, _ = from_config(cfg, None if "name" in cfg else "fbank", where="features")
    rate = int(fbank.opts.sample_frequency)
    # A pipe's output goes to a temporary file, read there by range: a long recording is not run
    # again for every chunk (pytorch.chunked reads each several times), nor held whole.
    pipes = PipeOutput()
    entries = {e.utt: e for e in wave_entries(dd, rate, pipes=pipes)}
    lengths = {u: fbank.num_frames(e.num_samples) for u, e in entries.items()}

    def load(utt: str) -> np.ndarray:
        e = entries[utt]
        wave = read_range(e.rspec, e.offset, e.num_samples, utt, rate, pipes=pipes)
        with torch.no_grad():
            return fbank(torch.from_numpy(wave * 32768.0)).numpy()

    def read(utt: str, start: int, length: int) -> np.ndarray:
        # With snip_edges, frame f is samples [f * shift, f * shift + size): a range of frames
        # needs only its own samples and gives the same numbers as the whole signal.
        e, shift, size = entries[utt], fbank.opts.window_shift, fbank.opts.window_size
        length = min(length, lengths[utt] - start)
        wave = read_range(e.rspec, e.offset + start * shift, (length - 1) * shift + size, utt, rate, pipes=pipes)
        with torch.no_grad():
            return fbank(torch.from_numpy(wave * 32768.0)).numpy()
    return InputSource(dd.utts, lengths, load, read if fbank.opts.snip_edges else None)


def count_chunks(src: InputSource, max_chunk: int) -> int:
    return sum(len(chunk_starts(src.lengths[u], max_chunk)) for u in src.utts)


def _chunks(src: InputSource, max_chunk: int, apply_cmn: bool, skip: frozenset[int]
            ) -> Iterator[tuple[int, int, list[np.ndarray]]]:
    """(utterance index, chunk length, its chunks), utterances longest first, inputs checked."""
    order = sorted((i for i in range(len(src.utts)) if i not in skip),
                   key=lambda i: (-src.lengths[src.utts[i]], src.utts[i]))
    for i in order:
        utt = src.utts[i]
        mat = src.load(utt)
        if mat.shape[0] == 0:
            raise FormatError(f"utterance {utt!r} has no frames; remove it from the data dir")
        finite = np.isfinite(mat).all(axis=1)
        if not finite.all():
            raise FormatError(f"utterance {utt!r}: {int((~finite).sum())} of its {mat.shape[0]} input frames "
                              "hold NaN or inf; recompute its features or remove it from the data dir")
        length = min(mat.shape[0], max_chunk) if max_chunk > 0 else mat.shape[0]
        chunks = [mat[s:s + length] for s in chunk_starts(mat.shape[0], max_chunk)]
        yield i, length, [cmn(c) if apply_cmn else c for c in chunks]


def _padded_batches(src: InputSource, max_chunk: int, batch_size: int, apply_cmn: bool,
                    skip: frozenset[int] = frozenset()
                    ) -> Iterator[tuple[np.ndarray, list[int], np.ndarray | None]]:
    """(chunks [B, T, F] zero-padded to the longest, owner of each, lengths [B] or None when all
    are T), longest first; see the module doc for when a batch closes."""
    batch: list[np.ndarray] = []
    owners: list[int] = []

    def flush() -> tuple[np.ndarray, list[int], np.ndarray | None]:
        lengths = np.array([c.shape[0] for c in batch], dtype=np.int64)
        out = np.zeros((len(batch), lengths[0], batch[0].shape[1]), dtype=batch[0].dtype)
        for j, c in enumerate(batch):
            out[j, :c.shape[0]] = c
        return out, owners, None if (lengths == lengths[0]).all() else lengths

    for i, length, chunks in _chunks(src, max_chunk, apply_cmn, skip):
        for chunk in chunks:
            if batch and (len(batch) == batch_size or length < (1 - MAX_PAD) * batch[0].shape[0]):
                yield flush()
                batch, owners = [], []
            batch.append(chunk)
            owners.append(i)
    if batch:
        yield flush()


def _batches(src: InputSource, max_chunk: int, batch_size: int, apply_cmn: bool, skip: frozenset[int] = frozenset()
             ) -> Iterator[tuple[np.ndarray, list[int], None]]:
    """(chunks [B, T, F], utterance index of each chunk, None), equal T within a batch, longest first.

    Utterances are visited longest first; a bucket of one length is flushed when full or when no
    later utterance can add to it (memory stays bounded by the open buckets)."""
    buckets: dict[int, tuple[list[np.ndarray], list[int]]] = {}
    for i, length, utt_chunks in _chunks(src, max_chunk, apply_cmn, skip):
        for t in list(buckets):
            if t != length and t != max_chunk:  # shorter utterances only follow: this bucket is final
                yield np.stack(buckets[t][0]), buckets.pop(t)[1], None
        for chunk in utt_chunks:
            chunks, owners = buckets.setdefault(length, ([], []))
            chunks.append(chunk)
            owners.append(i)
            if len(chunks) == batch_size:
                yield np.stack(chunks), owners, None
                del buckets[length]
    for t in sorted(buckets, reverse=True):
        yield np.stack(buckets[t][0]), buckets[t][1], None


def long_utterances(src: InputSource, max_chunk_frames: int, long_frames: int) -> list[int]:
    """Indices of the utterances that extract_embeddings runs chunk by chunk (pytorch.chunked)."""
    if long_frames <= 0 or max_chunk_frames > 0 or src.read is None:
        return []
    return [i for i, u in enumerate(src.utts) if src.lengths[u] > long_frames]


def _embed_long(model: torch.nn.Module, src: InputSource, utt: str, chunk: int, device: torch.device | str,
                apply_cmn: bool) -> np.ndarray:
    """One long utterance through pytorch.chunked.embed_long: the CMN mean (float64) is one pass
    over the features first; each range is checked for NaN/inf as it is read."""
    n = src.lengths[utt]

    def raw(a: int, b: int) -> np.ndarray:
        mat = src.read(utt, a, b - a)
        if mat.shape[0] != b - a:
            raise FormatError(f"utterance {utt!r}: frames [{a}, {b}) gave {mat.shape[0]} rows; its length "
                              f"is {n} frames (recompute utt2num_frames/utt2dur or the features)")
        if not np.isfinite(mat).all():
            raise FormatError(f"utterance {utt!r}: input frames in [{a}, {b}) hold NaN or inf; recompute its "
                              "features or remove it from the data dir")
        return mat
    mean = 0.0
    if apply_cmn:
        mean = sum(raw(a, min(a + chunk, n)).sum(axis=0, dtype=np.float64) for a in range(0, n, chunk)) / n
        mean = mean.astype(np.float32)
    emb = embed_long(model, lambda a, b: torch.from_numpy(raw(a, b) - mean).to(device), n, chunk)
    emb = emb.float().cpu().numpy().astype(np.float64)[0]
    if not np.isfinite(emb).all():
        raise AsvError(f"utterance {utt!r}: the model gave a NaN or inf embedding from finite input; "
                       "the checkpoint's weights may hold NaN (see the training log)")
    return emb


def extract_embeddings(model: torch.nn.Module, src: InputSource, max_chunk_frames: int = 0,
                       batch_size: int = 16, device: torch.device | str = "cpu", apply_cmn: bool = True,
                       progress: Callable[[int], None] | None = None, long_model: torch.nn.Module | None = None,
                       long_frames: int = 0, long_chunk: int = 1000, padded: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
    """-> (embeddings [N, D] float32 in src.utts order, frames used per utterance [N]).

    With `padded`, chunks of different lengths share zero-padded batches and `model` is called as
    `model(feats, lengths)` (only for a model that accepts_lengths, pytorch.models.masking, or its
    TorchScript / OnnxRuntimeModel(lengths=True) copy).

    With `long_model` (the eager model of `model`, see pytorch.chunked) and whole utterances
    (max_chunk_frames 0), an utterance longer than `long_frames` is run `long_chunk` frames at a
    time with the exact chunked computation, so memory does not grow with its length.

    A multi-identity model (MIRNet, [B, K, D] out) gives the K embeddings of an utterance concatenated
    [K*D] (score.overlap splits them); they come in no fixed order, so its chunks cannot be averaged."""
    sums: np.ndarray | None = None
    counts = np.zeros(len(src.utts), dtype=np.int64)
    frames = np.zeros(len(src.utts), dtype=np.int64)
    long = long_utterances(src, max_chunk_frames, long_frames) if long_model is not None else []
    model.eval()
    with torch.inference_mode():
        batches = _padded_batches if padded else _batches
        for chunks, owners, lengths in batches(src, max_chunk_frames, batch_size, apply_cmn, frozenset(long)):
            x = torch.from_numpy(chunks).to(device)
            out = model(x) if lengths is None else model(x, torch.from_numpy(lengths).to(device))
            emb = out.float().cpu().numpy().astype(np.float64)
            multi = emb.ndim == 3
            emb = emb.reshape(emb.shape[0], -1)
            finite = np.isfinite(emb).all(axis=1)
            if not finite.all():
                utt = src.utts[owners[int(np.flatnonzero(~finite)[0])]]
                raise AsvError(f"utterance {utt!r}: the model gave a NaN or inf embedding from finite input; "
                               "the checkpoint's weights may hold NaN (see the training log)")
            if sums is None:
                sums = np.zeros((len(src.utts), emb.shape[1]), dtype=np.float64)
            idx = np.asarray(owners)
            np.add.at(sums, idx, emb)
            np.add.at(counts, idx, 1)
            if multi and counts[idx].max() > 1:
                raise ConfigError("a multi-identity model's embeddings come in no fixed order, so the "
                                  "embeddings of an utterance's chunks cannot be averaged; set "
                                  "extract.max_chunk_frames: 0 (whole utterances)")
            if progress:
                progress(len(owners))
        for i in long:
            emb = _embed_long(long_model, src, src.utts[i], long_chunk, device, apply_cmn)
            if sums is None:
                sums = np.zeros((len(src.utts), emb.shape[0]), dtype=np.float64)
            sums[i] += emb
            counts[i] += 1
            if progress:
                progress(1)
    for i, u in enumerate(src.utts):
        frames[i] = src.lengths[u]
    if sums is None:
        raise FormatError("no utterances to extract")
    return (sums / counts[:, None]).astype(np.float32), frames
