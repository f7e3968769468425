"""WSJ0-2mix -> Kaldi mixture data dirs (called by local/wsj0_2mix/prepare_data.sh).

Usage: python -m local.wsj0_2mix.prepare [--rate 8k|16k] [--mode min|max] <wsj0-2mix-root> <data-dir>
 e.g.: python -m local.wsj0_2mix.prepare --rate 16k --mode min /export/corpora/wsj0-2mix data

<wsj0-2mix-root> holds the output of the official mixing scripts (create-speaker-mixtures.m):
2speakers/wav{8k,16k}/{min,max}/{tr,cv,tt}/{mix,s1,s2}/<name>.wav, where <name> is
`<utt1>_<gain1>_<utt2>_<gain2>` (e.g. 01aa010b_0.97482_209a010p_-0.97482): the two WSJ0 utterances and the dB
gains applied to them after level normalisation; a WSJ0 speaker is the first 3 characters of the utterance id.
Writes <data-dir>/wsj0_2mix_{tr,cv,tt}/ in the overlap recipe's mixture format, sorted in LC_ALL=C order,
each dir built under a temporary name and renamed into place:
  wav.scp      `<name> <root>/.../mix/<name>.wav`
  utt2spk      `<name> <name>` (a mixture is its own "speaker"), spk2utt
  utt2spks     `<name> <spk1> <spk2>`
  utt2sources  `<name> <s1 wav> <s2 wav>` (the scaled source images: mix = s1 + s2)
  utt2sir      `<name> <gain1 - gain2>` (dB, source 1 over source 2)
  utt2dur      from the wav headers
Every name is parsed and every s1/s2 file checked before anything is written.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass

import soundfile as sf

from common.cli import make_parser, run_main, setup_logging
from common.errors import FormatError

log = logging.getLogger(__name__)

SETS = ("tr", "cv", "tt")
_NAME = re.compile(r"(?P<u1>[0-9A-Za-z]{3}[0-9A-Za-z]*)_(?P<g1>-?\d+(?:\.\d+)?)_"
                   r"(?P<u2>[0-9A-Za-z]{3}[0-9A-Za-z]*)_(?P<g2>-?\d+(?:\.\d+)?)\Z")


@dataclass(frozen=True)
class Mixture:
    name: str
    spk1: str
    spk2: str
    gain1: float
    gain2: float


def parse_name(name: str, where: str) -> Mixture:
    """`01aa010b_0.97482_209a010p_-0.97482` -> speakers 01a, 209 and gains 0.97482, -0.97482 dB."""
    m = _NAME.match(name)
    if not m:
        raise FormatError(f"{where}: {name}.wav is not a WSJ0-2mix name <utt1>_<gain1>_<utt2>_<gain2> (e.g. "
                          "01aa010b_0.97482_209a010p_-0.97482.wav); remove the file or fix the root")
    return Mixture(name, m["u1"][:3], m["u2"][:3], float(m["g1"]), float(m["g2"]))


def scan(set_dir: str) -> list[Mixture]:
    """The mixtures of one <set> dir (mix/, s1/, s2/), checked."""
    mix_dir = os.path.join(set_dir, "mix")
    names = sorted(f[:-4] for f in os.listdir(mix_dir) if f.endswith(".wav"))
    if not names:
        raise FormatError(f"{mix_dir}: no .wav files")
    out = [parse_name(n, mix_dir) for n in names]
    for src in ("s1", "s2"):
        missing = [n for n in names if not os.path.isfile(os.path.join(set_dir, src, f"{n}.wav"))]
        if missing:
            raise FormatError(f"{os.path.join(set_dir, src, missing[0] + '.wav')}: missing ({len(missing)} "
                              f"mixture(s) of {mix_dir} have no {src} source); regenerate the set")
    return out


def _write(path: str, lines: list[str]) -> None:
    with open(path, "w") as f:
        f.writelines(f"{line}\n" for line in lines)


def write_dir(set_dir: str, mixes: list[Mixture], out: str) -> None:
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", dir=parent)
    try:
        path = {k: [os.path.abspath(os.path.join(set_dir, k, f"{m.name}.wav")) for m in mixes]
                for k in ("mix", "s1", "s2")}
        _write(f"{tmp}/wav.scp", [f"{m.name} {p}" for m, p in zip(mixes, path["mix"])])
        _write(f"{tmp}/utt2spk", [f"{m.name} {m.name}" for m in mixes])
        _write(f"{tmp}/spk2utt", [f"{m.name} {m.name}" for m in mixes])
        _write(f"{tmp}/utt2spks", [f"{m.name} {m.spk1} {m.spk2}" for m in mixes])
        _write(f"{tmp}/utt2sources", [f"{m.name} {a} {b}" for m, a, b in zip(mixes, path["s1"], path["s2"])])
        _write(f"{tmp}/utt2sir", [f"{m.name} {m.gain1 - m.gain2:.5f}" for m in mixes])
        _write(f"{tmp}/utt2dur", [f"{m.name} {sf.info(p).duration:.3f}" for m, p in zip(mixes, path["mix"])])
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def prepare(root: str, data: str, rate: str = "16k", mode: str = "min") -> list[str]:
    """Write the data dirs of every set present; returns their paths."""
    base = os.path.join(root, "2speakers", f"wav{rate}", mode)
    if not os.path.isdir(base):
        raise FormatError(f"{base}: no such directory; <root> must hold 2speakers/wav{rate}/{mode}/ "
                          "(the output of the WSJ0-2mix scripts); check --rate and --mode")
    present = [s for s in SETS if os.path.isdir(os.path.join(base, s, "mix"))]
    if not present:
        raise FormatError(f"{base}: none of {', '.join(s + '/mix' for s in SETS)} exists")
    scanned = {s: scan(os.path.join(base, s)) for s in present}   # everything checked before writing
    outs = []
    for s, mixes in scanned.items():
        out = os.path.join(data, f"wsj0_2mix_{s}")
        write_dir(os.path.join(base, s), mixes, out)
        log.info("%s: %d mixtures, %d speakers", out, len(mixes),
                 len({m.spk1 for m in mixes} | {m.spk2 for m in mixes}))
        outs.append(out)
    return outs


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.wsj0_2mix.prepare", __doc__)
    ap.add_argument("--rate", choices=("8k", "16k"), default="16k", help="wav8k or wav16k (default 16k: "
                    "wide-band PESQ needs 16 kHz)")
    ap.add_argument("--mode", choices=("min", "max"), default="min", help="min or max (default min)")
    ap.add_argument("root")
    ap.add_argument("data")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)

    def body() -> None:
        prepare(args.root, args.data, args.rate, args.mode)
    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
