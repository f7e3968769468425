"""Fixed two-speaker mixture lists from any Kaldi data dir (the test and dev sets of egs/overlap).

Each mixture sums two `seg_dur`-second segments cut at random offsets from two utterances of two
different speakers, the second scaled to the signal-to-interference ratio `sir_db` (A over B,
mean power); both segments overlap fully, as in the MIRNet paper. The data dir has the format of
the generated corpus's mix_{train,test} (local/synthetic/datadirs.py):
  wav.scp utt2spk (utt -> utt) spk2utt utt2dur utt2spks utt2overlap utt2sir utt2sources rttm
plus utt2srcs (`utt src_utt1 start1 src_utt2 start2`, seconds) and, for triplets, the protocol's
trials (`anchor other target|nontarget`): anchor A+B, positive A'+C, negative C'+D, where A' and
C' are other utterances of A and C.
Training mixtures are not made here: pytorch/data/mixture_dataset.py draws new pairs every epoch.
"""
from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from common.errors import FormatError
from common.io import read_kv

PEAK = 0.9            # a mixture louder than this is scaled down (s1, s2 with it, so mix = s1 + s2)


@dataclass(frozen=True)
class Source:
    utt: str
    spk: str


@dataclass(frozen=True)
class Mixture:
    utt: str
    a: Source
    b: Source


def read_sources(data_dir: str) -> tuple[dict[str, str], dict[str, str]]:
    """(utt2spk, utt -> audio path) of a data dir whose wav.scp holds files (not commands)."""
    utt2spk = read_kv(os.path.join(data_dir, "utt2spk"))
    scp = os.path.join(data_dir, "wav.scp")
    wavs = read_kv(scp)
    for n, (utt, spec) in enumerate(wavs.items(), 1):
        if spec.rstrip().endswith("|"):
            raise FormatError(f"{scp}:{n}: {utt!r} is a command; mixtures read audio files, so write the "
                              "audio out first (e.g. with sox) and point wav.scp at the files")
    missing = [u for u in utt2spk if u not in wavs]
    if missing:
        raise FormatError(f"{scp}: no entry for {missing[0]!r} of utt2spk; run utils/fix_data_dir.sh")
    return utt2spk, {u: wavs[u] for u in utt2spk}


def by_speaker(utt2spk: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for utt in sorted(utt2spk):
        out[utt2spk[utt]].append(utt)
    return dict(sorted(out.items()))


def heldout_split(utt2spk: dict[str, str], per_spk: int, seed: int) -> tuple[list[str], list[str]]:
    """(training utts, held-out utts): `per_spk` random utterances of every speaker are held out
    (the seen-speaker test); a speaker keeps at least one training utterance."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for spk, utts in by_speaker(utt2spk).items():
        if len(utts) <= per_spk:
            raise FormatError(f"speaker {spk!r} has {len(utts)} utterance(s); holding out {per_spk} would "
                              "leave none for training; lower --heldout-per-spk")
        pick = set(rng.choice(len(utts), per_spk, replace=False).tolist())
        for k, u in enumerate(utts):
            (held if k in pick else train).append(u)
    return sorted(train), sorted(held)


def _two(utts: list[str], rng: np.random.Generator) -> tuple[str, str]:
    i, j = rng.choice(len(utts), 2, replace=False)
    return utts[int(i)], utts[int(j)]


def plan_triplets(utt2spk: dict[str, str], n: int, seed: int, prefix: str) -> tuple[list[Mixture], list[str]]:
    """n (anchor A+B, positive A'+C, negative C'+D) triplets and their trial lines. A and C need two
    utterances each; B and D one."""
    spk2utts = by_speaker(utt2spk)
    multi = [s for s, u in spk2utts.items() if len(u) >= 2]
    if len(spk2utts) < 4 or len(multi) < 2:
        raise FormatError(f"the protocol needs 4 speakers, 2 of them with 2+ utterances; the source has "
                          f"{len(spk2utts)} speakers, {len(multi)} with 2+ utterances")
    rng = np.random.default_rng(seed)
    spks = list(spk2utts)
    mixes, trials = [], []
    for k in range(n):
        a, c = (multi[int(i)] for i in rng.choice(len(multi), 2, replace=False))
        rest = [s for s in spks if s not in (a, c)]
        b, d = (rest[int(i)] for i in rng.choice(len(rest), 2, replace=False))
        a1, a2 = _two(spk2utts[a], rng)
        c1, c2 = _two(spk2utts[c], rng)
        b1 = spk2utts[b][int(rng.integers(len(spk2utts[b])))]
        d1 = spk2utts[d][int(rng.integers(len(spk2utts[d])))]
        names = [f"{prefix}-{k:04d}-{x}" for x in ("anc", "pos", "neg")]
        mixes += [Mixture(names[0], Source(a1, a), Source(b1, b)), Mixture(names[1], Source(a2, a), Source(c1, c)),
                  Mixture(names[2], Source(c2, c), Source(d1, d))]
        trials += [f"{names[0]} {names[1]} target", f"{names[0]} {names[2]} nontarget"]
    return mixes, trials


def plan_pairs(utt2spk: dict[str, str], n: int, seed: int, prefix: str) -> list[Mixture]:
    """n random two-speaker mixtures (a dev list)."""
    spk2utts = by_speaker(utt2spk)
    if len(spk2utts) < 2:
        raise FormatError(f"mixtures need 2 speakers; the source has {len(spk2utts)}")
    rng = np.random.default_rng(seed)
    spks = list(spk2utts)
    out = []
    for k in range(n):
        a, b = (spks[int(i)] for i in rng.choice(len(spks), 2, replace=False))
        ua = spk2utts[a][int(rng.integers(len(spk2utts[a])))]
        ub = spk2utts[b][int(rng.integers(len(spk2utts[b])))]
        out.append(Mixture(f"{prefix}-{k:04d}", Source(ua, a), Source(ub, b)))
    return out


def segment(x: np.ndarray, length: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """(`length` samples from a random offset, the offset); a shorter signal is repeated."""
    if x.size == 0:
        raise ValueError("empty signal")
    if x.size < length:
        return np.tile(x, -(-length // x.size))[:length], 0
    start = int(rng.integers(0, x.size - length + 1))
    return x[start:start + length], start


def _power(x: np.ndarray) -> float:
    return float(np.mean(x * x)) + 1e-12


def mix_pair(a: np.ndarray, b: np.ndarray, sir_db: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mixture, image of a, image of b) with power(a) / power(b) = sir_db and mix = a + b."""
    b = b * np.sqrt(_power(a) / _power(b) * 10 ** (-sir_db / 10))
    mix = a + b
    peak = float(np.abs(mix).max())
    g = PEAK / peak if peak > PEAK else 1.0
    return mix * g, a * g, b * g


def _read(path: str, utt: str, rate: int | None) -> tuple[np.ndarray, int]:
    try:
        x, sr = sf.read(path, dtype="float64", always_2d=True)
    except (OSError, RuntimeError) as e:
        raise FormatError(f"utterance {utt!r}: cannot read {path}: {e}") from None
    if rate is not None and sr != rate:
        raise FormatError(f"utterance {utt!r}: {path} is {sr} Hz, the other sources {rate} Hz; resample "
                          "them to one rate first")
    return x[:, 0], sr


def write_mixtures(mixes: list[Mixture], wavs: dict[str, str], seg_dur: float, sir_db: float, seed: int,
                   wav_dir: str, out: str, trials: list[str] | None = None) -> None:
    """Render `mixes` into wav_dir (<utt>.wav, <utt>-s1.wav, <utt>-s2.wav) and write the data dir
    `out` (built under a temporary name, then renamed into place)."""
    wav_dir = os.path.abspath(wav_dir)
    os.makedirs(wav_dir, exist_ok=True)
    tables: dict[str, list[str]] = defaultdict(list)
    rate = None
    for k, m in enumerate(mixes):
        # one generator per mixture: a list's k-th mixture does not depend on the others
        rng = np.random.default_rng([seed, k])
        xa, rate = _read(wavs[m.a.utt], m.a.utt, rate)
        xb, rate = _read(wavs[m.b.utt], m.b.utt, rate)
        n = int(round(seg_dur * rate))
        (sa, oa), (sb, ob) = segment(xa, n, rng), segment(xb, n, rng)
        mix, s1, s2 = mix_pair(sa, sb, sir_db)
        paths = [os.path.join(wav_dir, f"{m.utt}{x}.wav") for x in ("", "-s1", "-s2")]
        for p, x in zip(paths, (mix, s1, s2)):
            sf.write(p + ".tmp", x, rate, format="WAV", subtype="PCM_16")
            os.replace(p + ".tmp", p)
        u = m.utt
        tables["wav.scp"].append(f"{u} {paths[0]}")
        tables["utt2spk"].append(f"{u} {u}")
        tables["spk2utt"].append(f"{u} {u}")
        tables["utt2dur"].append(f"{u} {n / rate:.4f}")
        tables["utt2spks"].append(f"{u} {m.a.spk} {m.b.spk}")
        tables["utt2overlap"].append(f"{u} 1.0")
        tables["utt2sir"].append(f"{u} {sir_db:g}")
        tables["utt2sources"].append(f"{u} {paths[1]} {paths[2]}")
        tables["utt2srcs"].append(f"{u} {m.a.utt} {oa / rate:.4f} {m.b.utt} {ob / rate:.4f}")
        tables["rttm"] += [f"SPEAKER {u} 1 0.000 {n / rate:.3f} <NA> <NA> {s} <NA> <NA>" for s in (m.a.spk, m.b.spk)]
    if trials is not None:
        tables["trials"] = trials
    tmp = os.path.join(os.path.dirname(os.path.abspath(out)), f".{os.path.basename(out)}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, lines in tables.items():
        with open(os.path.join(tmp, name), "w") as f:
            f.writelines(line + "\n" for line in sorted(lines))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
