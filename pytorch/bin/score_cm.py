"""Score utterances with a spoofing countermeasure (AASIST / AASIST-L).

Usage: python -m pytorch.bin.score_cm [options] --model-conf <AASIST.conf|x.yaml> --checkpoint <model.pth> \\
           --wav-scp <wav.scp> --out <scores> [--embeddings <xvector.ark>] [--logit-diff <file>]
 e.g.: python -m pytorch.bin.score_cm --model-conf ../shared/data/pretrained/aasist/AASIST.conf \\
           --checkpoint ../shared/data/pretrained/aasist/AASIST.pth --wav-scp data/la_eval/wav.scp \\
           --out exp/aasist/scores/la_eval --embeddings exp/aasist/embeddings/la_eval/xvector.ark

Writes one `utt score` line per wav.scp entry, in its order; the score is the bona fide class logit
(higher = more likely bona fide), as in the official AASIST evaluation. --model-conf takes the official
.conf JSON as is (its `model_config`) or a YAML file with a `model:` section. Every waveform is cut to,
or repeat-padded up to, the model's input length (64,600 samples for the official models), as the
official evaluation does; its sample rate must be the model's (16 kHz). --embeddings also writes the
CM embeddings (the readout vector before the output layer, 160-d for the official models) to
<x>.ark and <x>.scp. --logit-diff also writes `utt logit_bonafide - logit_spoof`, the log-odds of the
2-class softmax's bona fide posterior (sigmoid of it = the posterior), which SASV Baseline 1 v2 adds to the
ASV score after the softmax (score/sasv.py, b1v2).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.embeddings import write_embeddings
from common.io import atomic_write, read_kv
from pytorch.data.audio import AudioError, read_audio
from pytorch.models.aasist import AASIST, BONAFIDE, fix_length, load_aasist

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser("score_cm", __doc__)
    ap.add_argument("--model-conf", required=True, help="official AASIST .conf (JSON) or a YAML config")
    ap.add_argument("--checkpoint", required=True, help="state dict, e.g. the official AASIST.pth")
    ap.add_argument("--wav-scp", required=True, help="Kaldi wav.scp (paths or `cmd |` pipes)")
    ap.add_argument("--out", required=True, help="output score file: `utt score` lines")
    ap.add_argument("--embeddings", default=None, help="also write CM embeddings to <x>.ark and <x>.scp")
    ap.add_argument("--logit-diff", default=None,
                    help="also write `utt logit_bonafide - logit_spoof` lines (softmax log-odds) to this file")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    ap.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return ap


def _waves(wav_scp: dict[str, str], model: AASIST) -> Iterator[tuple[str, np.ndarray]]:
    for utt, spec in wav_scp.items():
        samples, rate = read_audio(spec, utt)
        if rate != model.sample_rate:
            raise AudioError(f"utterance {utt}: sample rate {rate} Hz, the model takes {model.sample_rate} Hz; "
                             f"resample it in wav.scp (e.g. `sox {spec.split()[0]} -r {model.sample_rate} "
                             "-t wav - |`)")
        if samples.ndim != 1:
            raise AudioError(f"utterance {utt}: {samples.shape[1]} channels; the model takes mono audio")
        yield utt, fix_length(samples, model.nb_samp)


def _batches(items: Iterator[tuple[str, np.ndarray]], size: int) -> Iterator[tuple[list[str], np.ndarray]]:
    keys: list[str] = []
    rows: list[np.ndarray] = []
    for key, row in items:
        keys.append(key)
        rows.append(row)
        if len(keys) == size:
            yield keys, np.stack(rows)
            keys, rows = [], []
    if keys:
        yield keys, np.stack(rows)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("score_cm")

    def body() -> int:
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
        emb_base = None
        if args.embeddings:
            p = Path(args.embeddings)
            emb_base = p.with_suffix("") if p.suffix in (".ark", ".scp") else p
        outputs = {"--out": args.out}
        if args.logit_diff:
            outputs["--logit-diff"] = args.logit_diff
        if emb_base is not None:
            outputs.update({"--embeddings": f"{emb_base}.ark", "--embeddings (scp)": f"{emb_base}.scp"})
        refuse_overwrite(outputs, {"--model-conf": args.model_conf, "--checkpoint": args.checkpoint,
                                   "--wav-scp": args.wav_scp})
        if args.num_threads > 0:
            torch.set_num_threads(args.num_threads)
        device = torch.device(args.device)
        model = load_aasist(args.model_conf, args.checkpoint).to(device)
        wav_scp = read_kv(args.wav_scp)
        keys: list[str] = []
        scores: list[float] = []
        diffs: list[float] = []
        embs: list[np.ndarray] = []
        with torch.inference_mode():
            for batch_keys, waves in _batches(_waves(wav_scp, model), args.batch_size):
                emb, logits = model.embed(torch.from_numpy(waves.astype(np.float32)).to(device))
                if not torch.isfinite(logits).all():
                    bad = [k for k, ok in zip(batch_keys, torch.isfinite(logits).all(1).tolist()) if not ok]
                    raise ValueError(f"non-finite CM output for utterance(s) {', '.join(bad)}")
                keys += batch_keys
                scores += logits[:, BONAFIDE].tolist()
                diffs += (logits[:, BONAFIDE] - logits[:, 1 - BONAFIDE]).tolist()
                embs += list(emb.cpu().numpy())
        if emb_base is not None:
            emb_base.parent.mkdir(parents=True, exist_ok=True)
            write_embeddings(keys, embs, f"{emb_base}.ark", f"{emb_base}.scp")
        if args.logit_diff:
            Path(args.logit_diff).parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(args.logit_diff) as f:
                f.writelines(f"{k} {d:.6f}\n" for k, d in zip(keys, diffs))
        # the score file last: its presence marks a finished run (egs/sasv stage 5 skips on it)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.out) as f:
            f.writelines(f"{k} {s:.6f}\n" for k, s in zip(keys, scores))
        log.info("scored %d utterances -> %s", len(keys), args.out)
        return 0

    return run_main("score_cm", body)


if __name__ == "__main__":
    raise SystemExit(main())
