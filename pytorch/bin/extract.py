"""Extract speaker embeddings of a data dir with a trained system.

Usage: python -m pytorch.bin.extract [options] --exp <exp-dir> --data <data-dir> --out <out-dir>
       python -m pytorch.bin.extract --merge <job-dir> [<job-dir> ...] --data <data-dir> --out <out-dir>
 e.g.: python -m pytorch.bin.extract --exp exp/ecapa_mini --data data/test \\
           --out exp/ecapa_mini/embeddings/test --checkpoint avg --max-chunk-frames 400 --device cpu

Writes <out>/xvector.{ark,scp}, utt2num_frames (frames the model saw, after VAD; for QMF) and the
speaker means spk_xvector.{ark,scp} over the data dir's spk2utt (for an enrollment dir the
"speaker" is the enrollment id). Defaults come from the `extract` section of exp/x/config.yaml;
the input rule (mode, VAD, CMN, fbank options) from its `data` and `features` sections, except
that `extract.use_vad` (when set) overrides data.use_vad: ASV-Subtools trains on voiced frames but
extracts from all of them.
--merge joins the outputs of split jobs (utils/extract_embeddings.sh): xvector.scp and
utt2num_frames are concatenated and the speaker means are computed over all jobs.
An utterance longer than --long-frames (60 s) with whole-utterance extraction is run chunk by chunk
with the same embedding (pytorch.chunked), so a long recording's memory stays bounded by the chunk.
With --padded-batches (default) a model that takes lengths (ECAPA-TDNN, the ResNet family:
pytorch.models.masking) gets utterances of different lengths in one zero-padded batch, with the
embedding each gets alone; other models are batched with equal-length utterances only.
A non-finite input frame or embedding (NaN or inf) is an error that names the utterance; nothing
is written then.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.embeddings import load_embeddings, write_embeddings
from common.errors import ConfigError, FormatError
from common.io import read_kv, write_kv
from common.registry import build_options
from pytorch.config import load_config
from pytorch.data.datadir import DataDir
from pytorch.data.options import DataOptions, ExtractOptions
from pytorch.data.xvectors import speaker_means

if TYPE_CHECKING:  # torch is imported where a model runs: --merge (numpy only) skips its start-up
    import torch

PROG = "extract"
log = logging.getLogger(PROG)


def load_model(exp: str, checkpoint: str, device: str) -> torch.nn.Module:
    """The trained model on `device` in eval mode, as the checkpoint holds it."""
    from pytorch.training.checkpoint import load_model as load
    return load(exp, checkpoint).to(device).eval()


def load_models(args: argparse.Namespace, device: str, long: bool, only_long: bool
                ) -> tuple[torch.nn.Module, torch.nn.Module | None, bool]:
    """(model for the batches, model for the long utterances or None, padded batches or not).

    The batch model is --engine's: torch's extraction mode (BN folded, scripted on CPU; moved to
    the device first, because frozen TorchScript constants do not follow a later `.to()`) or the
    ONNX Runtime graph (after the export's parity check). The long-utterance model is the eager
    BN-folded module (pytorch.chunked needs it for its hooks); None, with a warning, when the model
    cannot run chunk by chunk exactly. When every utterance is long, it serves for both."""
    import torch

    from pytorch.chunked import return_freed_memory, supports_long
    from pytorch.inference import prepare_for_inference
    from pytorch.models.masking import accepts_lengths
    base = load_model(args.exp, args.checkpoint, device)
    chunked = None
    if long and supports_long(base):
        chunked = prepare_for_inference(base, script=False)
        return_freed_memory()
    elif long:
        log.warning("%s cannot run chunk by chunk exactly (pytorch.chunked); long utterances are "
                    "extracted whole", type(base).__name__)
    padded = args.padded_batches and accepts_lengths(base)
    if chunked is not None and only_long:
        return chunked, chunked, padded
    if args.engine == "onnx":
        from pytorch.export import OnnxRuntimeModel
        return OnnxRuntimeModel(base, torch.get_num_threads(), lengths=padded), chunked, padded
    return prepare_for_inference(base, dtype=getattr(torch, args.dtype)), chunked, padded


def write_speaker_means(data: DataDir, emb: dict[str, np.ndarray], out: Path) -> int:
    means = speaker_means(emb, data.spk2utt(), str(data.file("spk2utt")))
    return write_embeddings([k for k, _ in means], [v for _, v in means], out / "spk_xvector.ark",
                            out / "spk_xvector.scp")


def run_extract(args: argparse.Namespace) -> None:
    import torch

    from pytorch.data.extraction import count_chunks, extract_embeddings, feats_source, long_utterances, wave_source
    sources = {"feats": lambda: feats_source(dd, use_vad, data_opts.cmn_window),
               "wave": lambda: wave_source(dd, cfg.get("features")),
               "mixture": lambda: wave_source(dd, cfg.get("features"))}
    cfg = load_config(Path(args.exp) / "config.yaml")
    data_opts: DataOptions = build_options(DataOptions, cfg.get("data"), "data")
    opts: ExtractOptions = build_options(ExtractOptions, cfg.get("extract"), "extract")
    max_chunk = opts.max_chunk_frames if args.max_chunk_frames is None else args.max_chunk_frames
    batch_size = opts.batch_size if args.batch_size is None else args.batch_size
    device = args.device or opts.device
    if args.engine == "onnx" and device != "cpu":
        raise ConfigError("--engine onnx runs on the CPU; use --device cpu (or --engine torch on the GPU)")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available; use --device cpu")
    dd = DataDir(args.data)
    use_vad = data_opts.use_vad if opts.use_vad is None else opts.use_vad
    src = sources[data_opts.mode]()
    long = long_utterances(src, max_chunk, args.long_frames)
    model, chunked, padded = load_models(args, device, bool(long), len(long) == len(src.utts))
    out = Path(args.out)
    with tqdm(total=count_chunks(src, max_chunk), desc=f"{PROG} {dd.path.name}", unit="chunk",
              disable=None) as bar:
        emb, frames = extract_embeddings(model, src, max_chunk, batch_size, device, data_opts.chunk_cmn,
                                         bar.update, chunked, args.long_frames, args.long_chunk_frames, padded)
    n = write_embeddings(src.utts, emb, out / "xvector.ark", out / "xvector.scp")
    write_kv(out / "utt2num_frames", zip(src.utts, frames.tolist()))
    log.info("wrote %d embeddings (dim %d) to %s/xvector.scp", n, emb.shape[1], out)
    if args.speaker_means:
        nspk = write_speaker_means(dd, dict(zip(src.utts, emb)), out)
        log.info("wrote %d speaker means to %s/spk_xvector.scp", nspk, out)


def run_merge(args: argparse.Namespace) -> None:
    dd = DataDir(args.data)
    out = Path(args.out)
    scp_lines: dict[str, str] = {}
    frames: dict[str, str] = {}
    for d in map(Path, args.merge):
        for name, table in (("xvector.scp", scp_lines), ("utt2num_frames", frames)):
            if not (d / name).exists():
                raise FormatError(f"{d / name}: missing; the extraction job for {d} did not finish "
                                  "(see its log)")
            table.update(read_kv(d / name))
    missing = [u for u in dd.utts if u not in scp_lines]
    if missing:
        raise FormatError(f"{args.data}: no embedding for {len(missing)} utterance(s), first {missing[0]!r}; "
                          "re-run the extraction jobs")
    write_kv(out / "utt2num_frames", ((u, frames[u]) for u in dd.utts))
    write_kv(out / "xvector.scp", ((u, scp_lines[u]) for u in dd.utts))
    nspk = write_speaker_means(dd, dict(zip(*load_embeddings(out / "xvector.scp"))), out)
    log.info("merged %d embeddings from %d jobs; %d speaker means", len(dd.utts), len(args.merge), nspk)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--exp", help="experiment dir with config.yaml and models/")
    ap.add_argument("--data", required=True, help="Kaldi data dir")
    ap.add_argument("--out", required=True, help="output dir for xvector.{ark,scp}, spk_xvector.*")
    ap.add_argument("--checkpoint", default="avg", help="checkpoint name under exp/models (default avg)")
    ap.add_argument("--max-chunk-frames", type=int, default=None,
                    help="0: whole utterances (default: config)")
    ap.add_argument("--batch-size", type=int, default=None, help="chunks per forward pass (default: config)")
    ap.add_argument("--long-frames", type=int, default=6000,
                    help="with whole utterances, one longer than this runs --long-chunk-frames at a time, with the "
                         "same embedding and memory bounded by the chunk (pytorch.chunked); 0: off")
    ap.add_argument("--long-chunk-frames", type=int, default=1000, help="chunk of --long-frames (default 1000)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default=None)
    ap.add_argument("--engine", choices=("torch", "onnx"), default="torch",
                    help="torch (extraction mode) or onnx: the exported graph in ONNX Runtime, after the export's "
                         "parity check (CPU; long utterances still run chunked in torch)")
    ap.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                    help="torch engine: bfloat16 or float16 run the model under autocast, faster on CPUs with AMX "
                         "(bfloat16) and on GPUs, but NOT exact (BENCHMARKS.md gives the cosine to float32); "
                         "long utterances still run chunked in float32")
    ap.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    add_bool(ap, "--padded-batches", True, "batch utterances of different lengths, zero-padded and masked "
             "(same embeddings), for the models that take lengths; false: equal-length batches only")
    add_bool(ap, "--speaker-means", True, "also write spk_xvector.{ark,scp} (split jobs leave it to --merge)")
    ap.add_argument("--merge", nargs="+", metavar="DIR", help="merge the outputs of these job dirs instead")
    args = ap.parse_args(argv)
    if not args.merge and not args.exp:
        ap.error("--exp is required (unless --merge)")
    if args.dtype != "float32" and args.engine != "torch":
        ap.error(f"--dtype {args.dtype} needs --engine torch (the ONNX graph is float32)")
    if args.long_frames < 0 or args.long_chunk_frames < 1:
        ap.error("--long-frames must be >= 0 and --long-chunk-frames >= 1")
    setup_logging(PROG)
    if args.num_threads > 0 and not args.merge:
        import torch
        torch.set_num_threads(args.num_threads)

    def body() -> None:
        refuse_overwrite({"--out": args.out}, {"--data": args.data, "--merge": args.merge})
        run_merge(args) if args.merge else run_extract(args)
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
