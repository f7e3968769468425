"""Compute Kaldi-compatible features for a data dir into an ark/scp pair (compute-fbank-feats).

Usage: python -m pytorch.bin.compute_feats [options] --config <feat.yaml> <data-dir> <ark> <scp>
 e.g.: python -m pytorch.bin.compute_feats --feat-type fbank --config conf/fbank.yaml --compress true \\
           data/train/split4/1 fbank/raw_fbank_train.1.ark fbank/raw_fbank_train.1.scp

Reads <data-dir>/wav.scp (+ segments). Also writes <scp without .scp>.utt2num_frames (or
--utt2num-frames PATH). Outputs appear only when every utterance succeeded. Dither noise is
seeded per utterance from --seed and the utterance id, so results do not depend on the split.
Features are computed --chunk-frames frames at a time (pytorch/features/stream.py: the same result as
the whole signal), and the audio is read range by range: a plain file (or a segment of it) in place, a
pipe (`cmd |`) from its output, which goes once per recording to a temporary file next to the ark. With
--compress false each matrix is also written block by block, so the memory does not grow with the
recording. Kaldi's compression needs order statistics over all rows of each column, so a compressed
matrix over --compress-buffer-mb goes column-major to a temporary file next to the ark and is compressed
from there a column at a time (the same bytes).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.io import atomic_write, read_kv
from pytorch.data.audio import AudioError, PipeOutput, file_info, is_pipe, read_range, read_segments, segment_bounds
from pytorch.features import FEATURES, load_feature_config
from pytorch.features.ark import SPILL_BYTES, ark_scp_writer
from pytorch.features.stream import CHUNK_FRAMES, compute_in_chunks

PROG = "compute_feats"
log = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--feat-type", choices=sorted(FEATURES), default=None,
                    help="feature kind; default: the config's `name:`")
    ap.add_argument("--config", required=True, help="YAML with Kaldi option names, e.g. conf/fbank.yaml")
    add_bool(ap, "--compress", True,
             "Kaldi compression method 2, as compute-fbank-feats | copy-feats --compress")
    add_bool(ap, "--write-utt2num-frames", True, "also write the number of frames of each utterance")
    ap.add_argument("--utt2num-frames", default=None, help="path; default <scp stem>.utt2num_frames")
    ap.add_argument("--seed", type=int, default=0, help="dither seed (combined with each utterance id)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--chunk-frames", type=int, default=CHUNK_FRAMES,
                    help="frames computed at a time; bounds the memory of a long recording")
    ap.add_argument("--compress-buffer-mb", type=int, default=SPILL_BYTES >> 20,
                    help="with --compress true, a larger matrix (a long recording) is compressed from a "
                         "temporary file next to the ark, a column at a time; same bytes")
    add_bool(ap, "--allow-truncated-audio", False,
             "a file shorter than its header says: warn and use what is there instead of failing")
    ap.add_argument("data_dir")
    ap.add_argument("ark")
    ap.add_argument("scp")
    return ap


def run(args: argparse.Namespace) -> None:
    data = Path(args.data_dir)
    n2f = Path(args.utt2num_frames or Path(args.scp).with_suffix(".utt2num_frames"))
    refuse_overwrite({"<ark>": args.ark, "<scp>": args.scp, "--utt2num-frames": str(n2f)},
                     {"<data-dir>": [str(p) for p in (data / "wav.scp", data / "segments") if p.exists()]})
    module, kind = load_feature_config(args.config, args.feat_type)
    rate = int(module.opts.sample_frequency)
    device = torch.device(args.device)
    n2f.unlink(missing_ok=True)  # a redo must not leave the old one next to a failed scp
    lengths = []
    gen = torch.Generator(device=device)
    recordings = _Recordings(data, rate, args.allow_truncated_audio, Path(args.ark))
    with ark_scp_writer(args.ark, args.scp, args.compress) as write, torch.inference_mode(), \
            contextlib.closing(recordings):
        for utt, n, read in recordings:
            gen.manual_seed((args.seed * 1_000_003 + zlib.crc32(utt.encode())) & 0x7FFFFFFF)
            rows = module.num_frames(n)
            if rows == 0:
                raise AudioError(f"utterance {utt}: too short for one frame ({n} samples)")
            blocks = _finite(utt, (f.cpu().numpy() for f in compute_in_chunks(
                module, lambda a, b, read=read: read(a, b).to(device), n, gen, args.chunk_frames)))
            if args.compress:
                write.write_compressed_blocks(utt, rows, module.dim, blocks, args.compress_buffer_mb << 20)
            else:
                write.write_blocks(utt, rows, module.dim, blocks)
            lengths.append((utt, rows))
    if args.write_utt2num_frames:
        with atomic_write(n2f) as f:
            f.writelines(f"{u} {n}\n" for u, n in lengths)
    log.info("%s: wrote %d %s feature matrices to %s", args.data_dir, len(lengths), kind, args.scp)


Reader = Callable[[int, int], torch.Tensor]


def _finite(utt: str, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The blocks, stopped at the first non-finite value (NaN or inf samples in a float wav)."""
    done = 0
    for block in blocks:
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise AudioError(f"utterance {utt}: non-finite feature values from frame {done + int(bad.argmax())} "
                             "on (NaN or inf samples in the audio?); fix the recording or drop the utterance")
        done += len(block)
        yield block


class _Recordings:
    """(utt, samples, read(start, stop) -> int16-scale samples) in wav.scp / segments order, each
    read range by range, so that no recording is ever held whole: a pipe's output goes once per
    recording to a temporary file next to the ark (removed by close())."""

    def __init__(self, data: Path, rate: int, allow_truncated: bool, ark: Path) -> None:
        self.data, self.rate, self.allow = data, rate, allow_truncated
        self.pipes = PipeOutput(ark.parent, prefix=f".{ark.name}.")

    def __iter__(self) -> Iterator[tuple[str, int, Reader]]:
        wav = read_kv(self.data / "wav.scp")
        seg = self.data / "segments"
        items = read_segments(seg) if seg.exists() else [(u, u, 0.0, -1.0) for u in wav]
        current: tuple[str, int] | None = None   # consecutive segments share one header read / pipe run
        for utt, reco, start, end in items:
            if reco not in wav:
                raise AudioError(f"utterance {utt}: recording {reco!r} from {seg} is not in {self.data}/wav.scp")
            spec = wav[reco].strip()
            if current is None or current[0] != reco:
                path = self.pipes.path(spec, utt) if is_pipe(spec) else spec
                n, sr = file_info(path, utt, self.allow, spec)
                if sr != self.rate:
                    raise AudioError(f"utterance {utt}: sample rate {sr} Hz in {spec!r}, expected {self.rate} Hz "
                                     "(resample the data or set sample_frequency in the feature config)")
                if n == 0:
                    raise AudioError(f"utterance {utt}: empty audio (0 samples) in {spec!r}")
                current = (reco, n)
            n = current[1]
            first, last = segment_bounds(n, self.rate, start, end, utt, spec)   # (0, n) without segments

            def read(a: int, b: int | None, utt: str = utt, spec: str = spec, first: int = first,
                     last: int = last) -> torch.Tensor:
                stop = last if b is None else min(first + b, last)
                x = read_range(spec, first + a, stop - first - a, utt, self.rate, self.allow, self.pipes)
                return torch.from_numpy(x * 32768.0)
            yield utt, last - first, read

    def close(self) -> None:
        self.pipes.close()


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.chunk_frames < 1 or args.compress_buffer_mb < 0:
        ap.error("--chunk-frames must be >= 1 and --compress-buffer-mb >= 0")
    setup_logging(PROG)
    torch.set_num_threads(1)
    return run_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
