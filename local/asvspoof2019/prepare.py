"""ASVspoof 2019 LA -> Kaldi data dirs and SASV 2022 trials (called by local/asvspoof2019/prepare_data.sh).

Usage: python -m local.asvspoof2019.prepare <LA-root> <data-dir>
 e.g.: python -m local.asvspoof2019.prepare /export/corpora/ASVspoof2019/LA data

<LA-root> is the `LA/` folder of LA.zip (or the folder holding it), laid out as in docs/data_formats.md §6:
ASVspoof2019_LA_{train,dev,eval}/flac/*.flac, ASVspoof2019_LA_cm_protocols/ and ASVspoof2019_LA_asv_protocols/.
Writes, sorted in LC_ALL=C order, each dir built under a temporary name and renamed into place:
  spoof_{train,dev,eval}/  wav.scp (flac paths; soundfile reads FLAC) utt2spk spk2utt
                           utt2attack (`utt bonafide|A01..A19`) utt2label (`utt bonafide|spoof`)
  sasv_{dev,eval}_enroll/  wav.scp utt2spk spk2utt of the enrollment lists (*.{female,male}.trn.txt)
  sasv_{dev,eval}/trials   `enroll_spk test_utt target|nontarget|spoof`, in the protocol's order
Utterance ids are `<speaker>-<file id>` (e.g. LA_0069-LA_D_1047731): Kaldi wants speaker-prefixed ids so that
utt2spk and spk2utt sort alike; the speaker of a trial's test file comes from the CM protocol.
The names match the mini corpus's spoof_*/sasv_* dirs, so the SASV stages run on either.
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from common.cli import make_parser, run_main, setup_logging
from common.errors import FormatError
from common.io import require_file
from local.prepcommon import kaldi_files, write_dir

log = logging.getLogger(__name__)

PARTS = ("train", "dev", "eval")
CM_PROTOCOL = {"train": "ASVspoof2019.LA.cm.train.trn.txt", "dev": "ASVspoof2019.LA.cm.dev.trl.txt",
               "eval": "ASVspoof2019.LA.cm.eval.trl.txt"}
SASV_LABELS = ("target", "nontarget", "spoof")
_ATTACK = re.compile(r"A\d\d\Z")


@dataclass(frozen=True)
class CmRow:
    spk: str
    utt: str      # the file id, e.g. LA_D_1047731
    attack: str   # bonafide or A01..A19
    line: int


@dataclass(frozen=True)
class Trial:
    enroll: str
    utt: str
    attack: str   # column 3: bonafide or A01..A19
    label: str    # target, nontarget or spoof
    line: int


def uid(spk: str, utt: str) -> str:
    """The Kaldi utterance id: speaker-prefixed file id."""
    return f"{spk}-{utt}"


def _lines(path: str, what: str) -> Iterator[tuple[int, list[str]]]:
    require_file(path, what)
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.split()
            if fields:
                yield n, fields


def read_cm_protocol(path: str) -> list[CmRow]:
    """`SPEAKER FILE - ATTACK KEY` lines (column 3 is `-`, column 4 the attack id or `-` for bona fide)."""
    rows: list[CmRow] = []
    seen: dict[str, int] = {}
    for n, f in _lines(path, "CM protocol"):
        if len(f) != 5 or f[2] != "-" or f[4] not in ("bonafide", "spoof"):
            raise FormatError(f"{path}:{n}: expected `speaker file - attack bonafide|spoof`, got {' '.join(f)!r}")
        spoof = f[4] == "spoof"
        if spoof != bool(_ATTACK.match(f[3])) or (not spoof and f[3] != "-"):
            raise FormatError(f"{path}:{n}: attack {f[3]!r} does not fit key {f[4]!r} "
                              "(spoof needs A01..A19, bonafide needs -)")
        if f[1] in seen:
            raise FormatError(f"{path}:{n}: file {f[1]} repeats line {seen[f[1]]}")
        seen[f[1]] = n
        rows.append(CmRow(f[0], f[1], f[3] if spoof else "bonafide", n))
    if not rows:
        raise FormatError(f"{path}: empty CM protocol")
    return rows


def read_asv_trials(path: str) -> list[Trial]:
    """SASV `*.gi.trl.txt`: `enroll_spk file attack|bonafide target|nontarget|spoof`."""
    out = []
    for n, f in _lines(path, "SASV trial list"):
        if len(f) != 4 or f[3] not in SASV_LABELS or not (f[2] == "bonafide" or _ATTACK.match(f[2])):
            raise FormatError(f"{path}:{n}: expected `enroll_spk file bonafide|A01..A19 "
                              f"target|nontarget|spoof`, got {' '.join(f)!r}")
        out.append(Trial(f[0], f[1], f[2], f[3], n))
    if not out:
        raise FormatError(f"{path}: empty SASV trial list")
    return out


def read_enroll_list(path: str) -> dict[str, list[str]]:
    """`*.trn.txt`: `speaker file1,file2,...` -> {speaker: [file ids]}."""
    out: dict[str, list[str]] = {}
    for n, f in _lines(path, "enrollment list"):
        utts = f[1].split(",") if len(f) == 2 else []
        if not utts or not all(utts) or f[0] in out:
            why = f"speaker {f[0]} repeats" if f[0] in out else "expected `speaker file1,file2,...`"
            raise FormatError(f"{path}:{n}: {why}, got {' '.join(f)[:80]!r}")
        out[f[0]] = utts
    return out


def la_dir(root: str) -> str:
    """The LA/ folder: root itself, or root/LA."""
    for d in (root, os.path.join(root, "LA")):
        if os.path.isdir(os.path.join(d, "ASVspoof2019_LA_cm_protocols")):
            return d
    raise FileNotFoundError(f"{root}: no ASVspoof2019_LA_cm_protocols/ here or in {root}/LA; "
                            "<LA-root> must be the LA/ folder of LA.zip")


def join_trials(trials: list[Trial], cm: list[CmRow], trials_path: str, cm_path: str,
                enrolled: set[str]) -> list[tuple[str, str, str]]:
    """(enroll_spk, test utt id, label) per trial, checked against the CM protocol of the same part."""
    by_utt = {r.utt: r for r in cm}
    out = []
    for t in trials:
        r = by_utt.get(t.utt)
        if r is None:
            raise FormatError(f"{trials_path}:{t.line}: file {t.utt} is not in {cm_path}")
        if r.attack != t.attack:
            raise FormatError(f"{trials_path}:{t.line}: attack {t.attack} of {t.utt} disagrees with "
                              f"{cm_path}:{r.line} ({r.attack})")
        if t.enroll not in enrolled:
            raise FormatError(f"{trials_path}:{t.line}: speaker {t.enroll} has no enrollment list")
        out.append((t.enroll, uid(r.spk, r.utt), t.label))
    return out


def _flac_dir(la: str, part: str) -> str:
    return os.path.join(la, f"ASVspoof2019_LA_{part}", "flac")


def _check_audio(la: str, part: str, utts: list[tuple[str, str]]) -> None:
    """Every (file id, source line) needs its flac; one listing of the folder, not one stat per file."""
    d = _flac_dir(la, part)
    have = set(os.listdir(d)) if os.path.isdir(d) else set()
    for utt, where in utts:
        if f"{utt}.flac" not in have:
            raise FileNotFoundError(f"{where}: no audio {d}/{utt}.flac for {utt}; is the LA tree complete?")


def _kaldi_files(la: str, part: str, spk_utts: list[tuple[str, str]], **extra: dict[str, str]
                 ) -> dict[str, list[str]]:
    """wav.scp utt2spk spk2utt (and utt2<name> per keyword, keyed by file id) of (speaker, file id) pairs."""
    flac = os.path.abspath(_flac_dir(la, part))
    utts = {uid(s, u): (s, f"{flac}/{u}.flac") for s, u in spk_utts}
    return kaldi_files(utts, **{k: {uid(s, u): m[u] for s, u in spk_utts} for k, m in extra.items()})


def prepare(root: str, out: str) -> dict[str, Counter]:
    """Check the whole tree first, then write every dir; returns label counts per output for the log."""
    la = la_dir(root)
    cm_dir = os.path.join(la, "ASVspoof2019_LA_cm_protocols")
    asv_dir = os.path.join(la, "ASVspoof2019_LA_asv_protocols")
    cm = {}
    for part in PARTS:
        path = os.path.join(cm_dir, CM_PROTOCOL[part])
        cm[part] = (path, read_cm_protocol(path))
        _check_audio(la, part, [(r.utt, f"{path}:{r.line}") for r in cm[part][1]])
    sasv = {}
    for part in ("dev", "eval"):
        enroll: dict[str, list[str]] = {}
        for gender in ("female", "male"):
            path = os.path.join(asv_dir, f"ASVspoof2019.LA.asv.{part}.{gender}.trn.txt")
            lists = read_enroll_list(path)
            if set(lists) & set(enroll):
                raise FormatError(f"{path}: speaker {sorted(set(lists) & set(enroll))[0]} is also in "
                                  "the other gender's list")
            _check_audio(la, part, [(u, f"{path} ({s})") for s, us in lists.items() for u in us])
            enroll.update(lists)
        tpath = os.path.join(asv_dir, f"ASVspoof2019.LA.asv.{part}.gi.trl.txt")
        trials = join_trials(read_asv_trials(tpath), cm[part][1], tpath, cm[part][0], set(enroll))
        sasv[part] = (enroll, trials)

    counts: dict[str, Counter] = {}
    for part in PARTS:
        rows = cm[part][1]
        attack = {r.utt: r.attack for r in rows}
        label = {u: "bonafide" if a == "bonafide" else "spoof" for u, a in attack.items()}
        write_dir(out, f"spoof_{part}", _kaldi_files(la, part, [(r.spk, r.utt) for r in rows],
                                                     attack=attack, label=label))
        counts[f"spoof_{part}"] = Counter(attack.values())
    for part, (enroll, trials) in sasv.items():
        write_dir(out, f"sasv_{part}_enroll", _kaldi_files(la, part, [(s, u) for s, us in enroll.items()
                                                                      for u in us]))
        write_dir(out, f"sasv_{part}", {"trials": [" ".join(t) for t in trials]})
        counts[f"sasv_{part}"] = Counter(label for _, _, label in trials)
        counts[f"sasv_{part}_enroll"] = Counter(speakers=len(enroll), utts=sum(map(len, enroll.values())))
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.asvspoof2019.prepare", __doc__)
    ap.add_argument("root", help="the LA/ folder of LA.zip")
    ap.add_argument("data", help="output folder for the data dirs")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)

    def body() -> int:
        for name, c in prepare(args.root, args.data).items():
            log.info("%s: %s", name, " ".join(f"{k}={v}" for k, v in sorted(c.items())))
        return 0
    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
