"""Separate the two speakers of each mixture in a data dir with a trained VoiceFilter; write a Kaldi data dir.

Usage: python -m pytorch.bin.separate [options] --model <separator-exp> --data <mixture-dir> --out <data-dir> \\
           [--embeddings <scp> [--enroll-utt2spk <utt2spk>]]
 e.g.: python -m pytorch.bin.separate --model exp/sep_enroll --data data/mix_test \\
           --embeddings exp/resnet18_tap/embeddings/enroll/spk_xvector.scp --out exp/sep_enroll/sep_test

--data needs wav.scp and utt2spks. --embeddings is what the separator's conditioning takes (see
train_separator): `enroll` the speakers' clean enrollment embeddings (the first utterance of a speaker when
keyed by utterance), for the two speakers of utt2spks in turn; `mixture` the mixtures' own [I1, I2]
embeddings; `none` nothing. Each mixture gives two utterances `<mix>-1` and `<mix>-2` (for `enroll`, output k
is the speaker k of utt2spks; otherwise the order is the network's). --out gets wav/<utt>.wav (16-bit PCM,
the mixture's rate), wav.scp, utt2spk and spk2utt (each utterance its own speaker, as in the mixture dirs, since
who speaks in a blind output is unknown), utt2mix (`utt mixture k`) and utt2dur; it is built under a temporary
name and renamed into place, replacing an earlier one.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.io import write_kv
from pytorch.data.separation import Conditioner, MixtureDir
from pytorch.models.voicefilter import load_separator

PROG = "separate"
log = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--model", required=True, help="separator exp dir (train_separator --exp)")
    ap.add_argument("--data", required=True, help="mixture dir (wav.scp, utt2spks)")
    ap.add_argument("--embeddings", help="embedding scp for the separator's conditioning")
    ap.add_argument("--enroll-utt2spk", help="utt2spk of utterance-keyed enrollment embeddings")
    ap.add_argument("--out", required=True, help="output data dir")
    ap.add_argument("--num-threads", type=int, default=0, help="torch threads; 0 = torch's default")
    return ap


def separate(args: argparse.Namespace) -> None:
    out = Path(args.out)
    refuse_overwrite({"--out": args.out}, {"--data": args.data, "--model": args.model})
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    model, cfg = load_separator(args.model)
    conditioning, rate = cfg["data"]["conditioning"], cfg["train"]["sample_rate"]
    cond = Conditioner(conditioning, args.embeddings, args.enroll_utt2spk)
    if cond.embed_dim != cfg["data"]["embed_dim"]:
        raise ValueError(f"{args.embeddings}: embeddings of dim {cond.embed_dim}, the separator {args.model} "
                         f"was trained on dim {cfg['data']['embed_dim']}")
    mixtures = MixtureDir(args.data, need_sources=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        wav_dir = out.resolve() / "wav"   # wav.scp holds the final paths
        (tmp / "wav").mkdir()
        scp, mixmap, durs = [], [], []
        with torch.inference_mode():
            for utt in mixtures.utts:
                mix, _ = mixtures.load(utt, rate)
                emb = cond(utt, mixtures.spks[utt])
                x = torch.from_numpy(mix)[None]
                est = model.separate(x, torch.from_numpy(emb)[None] if cond.embed_dim else None)[0].numpy()
                for k, y in enumerate(est, 1):
                    name = f"{utt}-{k}"
                    sf.write(tmp / "wav" / f"{name}.wav", np.clip(y, -1, 32767 / 32768), rate, subtype="PCM_16")
                    scp.append((name, str(wav_dir / f"{name}.wav")))
                    mixmap.append((name, f"{utt} {k}"))
                    durs.append((name, f"{len(y) / rate:.3f}"))
        scp.sort()
        mixmap.sort()
        durs.sort()
        write_kv(tmp / "wav.scp", scp)
        write_kv(tmp / "utt2spk", [(u, u) for u, _ in scp])
        write_kv(tmp / "spk2utt", [(u, u) for u, _ in scp])
        write_kv(tmp / "utt2mix", mixmap)
        write_kv(tmp / "utt2dur", durs)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: %d mixtures separated (%s conditioning) into %d utterances", out, len(mixtures.utts),
             conditioning, len(scp))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: separate(args))


if __name__ == "__main__":
    raise SystemExit(main())
