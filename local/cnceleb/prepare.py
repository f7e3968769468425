"""CN-Celeb1 (FLAC release) + CN-Celeb2 -> Kaldi data dirs for training and the CN-Celeb eval (called by
prepare_data.sh).

Usage: python -m local.cnceleb.prepare [options] <cnceleb1-root> <data-dir>
 e.g.: python -m local.cnceleb.prepare --cnceleb2-root /export/CN-Celeb2_flac /export/CN-Celeb_flac data

Reads (docs/data_formats.md §3-4) CN-Celeb_flac/{data/<spk>/<genre>-NN-NNN.flac, dev/dev.lst, eval/enroll,
eval/test, eval/lists/{enroll.lst,test.lst,trials.lst[,enroll.map]}} and CN-Celeb2_flac/{spk.lst,data/}.
The lists name `.wav` files while the FLAC release has `.flac`: each list entry is resolved to the file
that exists. Writes, each dir built under a temporary name and renamed:
  cnceleb_train/    CN-Celeb1 dev speakers + CN-Celeb2: wav.scp utt2spk spk2utt utt2genre [utt2dur]
  eval_enroll/      utt id00800-enroll, spk id00800 (the concatenated *-enroll.flac); spk2genre from enroll.map
  eval_test/        utt id00800-singing-01-001, utt2genre, and trials `id00800 <test utt> target|nontarget`
  eval_enroll_map/  (when enroll.map exists) the data/ utterances of each enrollment; spk2utt = enrollment;
                    spk2genre
Utterance ids are <spk>-<file name>; the speaker is the first 7 characters. See README.md.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from array import array
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import soundfile as sf

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import FormatError
from local.prepcommon import DirIndex, check_audio, compare_published, kaldi_files, strip_audio_ext, write_dir

log = logging.getLogger(__name__)

GENRES = ("advertisement", "drama", "entertainment", "interview", "live_broadcast", "movie", "play",
          "recitation", "singing", "speech", "vlog")
_SPK = re.compile(r"id\d{5}\Z")
_FILE = re.compile(r"([a-z_]+)-\d+-\d+\Z")   # <genre>-NN-NNN
# Full-release figures (data_formats.md §3.4, one 3rd-party count; CN-Celeb.T speakers from issue #9 /
# CNSRC 2022): indicative, so a mismatch is a warning.
PUBLISHED = {"cnceleb_train": {"speakers": 2793}, "eval_enroll": {"speakers": 196},
             "eval_test": {"utterances": 17777, "trials": 3484292, "target": 17755}}
SOURCE = "docs/data_formats.md §3.4, CNSRC 2022"


def genre_of(stem: str, where: str) -> str:
    m = _FILE.match(stem)
    if not m:
        raise FormatError(f"{where}: file name {stem!r} is not <genre>-NN-NNN; is this a CN-Celeb tree?")
    if m.group(1) not in GENRES:
        log.warning("%s: genre %r is not one of the 11 CN-Celeb genres", where, m.group(1))
    return m.group(1)


def _lines(path: str) -> Iterator[tuple[int, list[str]]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: not found; is the CN-Celeb release complete?")
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            fld = ln.split()
            if fld:
                yield n, fld


class Trials:
    """Trial lines kept compact (CN-Celeb eval has 3.5M): enroll and test indices and a label byte each."""

    def __init__(self, enroll_spk: list[str], test_utts: list[str]):
        self.enroll, self.test = enroll_spk, test_utts
        self.e, self.t, self.target = array("I"), array("I"), bytearray()

    def add(self, e: int, t: int, target: bool) -> None:
        self.e.append(e)
        self.t.append(t)
        self.target.append(target)

    def __len__(self) -> int:
        return len(self.target)

    def lines(self) -> Iterator[str]:
        for e, t, y in zip(self.e, self.t, self.target):
            yield f"{self.enroll[e]} {self.test[t]} {'target' if y else 'nontarget'}"


def speaker_utts(root: str, spk_list: str, idx: DirIndex) -> dict[str, tuple[str, str, str]]:
    """{utt: (spk, path, genre)} for the speakers of a list (dev/dev.lst, spk.lst) from <root>/data/<spk>/."""
    out = {}
    for n, f in _lines(spk_list):
        spk = f[0]
        d = os.path.join(root, "data", spk)
        if len(f) != 1 or not _SPK.match(spk):
            raise FormatError(f"{spk_list}:{n}: expected one speaker id (idNNNNN), got {' '.join(f)!r}")
        names = [x for x in idx.names(d) if os.path.splitext(x)[1] in (".flac", ".wav")]
        if not names:
            raise FileNotFoundError(f"{spk_list}:{n}: speaker {spk} has no audio in {d}; is the copy complete?")
        for x in sorted(names):
            stem = os.path.splitext(x)[0]
            utt = f"{spk}-{stem}"
            if utt in out:   # both x.flac and x.wav: keep the first (flac sorts first)
                continue
            out[utt] = (spk, os.path.join(d, x), genre_of(stem, os.path.join(d, x)))
    return out


def read_eval(root: str, idx: DirIndex) -> tuple[dict, dict, Trials, dict | None]:
    """enroll {utt: (spk, path)}, test {utt: (spk, path, genre)}, trials, enroll.map utts (or None)."""
    ev = os.path.join(root, "eval")
    lists = os.path.join(ev, "lists")

    def resolve(rel: str, base: str, where: str) -> str:
        p = idx.find(os.path.join(base, strip_audio_ext(rel)))
        if p is None:
            raise FileNotFoundError(f"{where}: no audio for {rel} (.flac or .wav) under {base}; "
                                    "is the CN-Celeb copy complete?")
        return p

    enroll = {}
    path = os.path.join(lists, "enroll.lst")
    for n, f in _lines(path):
        if len(f) != 2 or not f[0].endswith("-enroll") or not _SPK.match(f[0][:-7]):
            raise FormatError(f"{path}:{n}: expected `idNNNNN-enroll enroll/idNNNNN-enroll.wav`, got {' '.join(f)!r}")
        enroll[f[0]] = (f[0][:-7], resolve(f[1], ev, f"{path}:{n}"))
    test = {}
    path = os.path.join(lists, "test.lst")
    for n, f in _lines(path):
        stem = os.path.basename(strip_audio_ext(f[0]))
        if len(f) != 1 or not _SPK.match(stem[:7]) or stem[7:8] != "-":
            raise FormatError(f"{path}:{n}: expected `test/idNNNNN-<genre>-NN-NNN.wav`, got {' '.join(f)!r}")
        test[stem] = (stem[:7], resolve(f[0], ev, f"{path}:{n}"), genre_of(stem[8:], f"{path}:{n}"))
    trials = Trials([v[0] for v in enroll.values()], list(test))
    e_index = {k: i for i, k in enumerate(enroll)}
    t_index: dict[str, int] = {}    # the list's token (test/<utt>.wav) -> index; each token recurs per enrollment
    t_pos = {u: i for i, u in enumerate(test)}
    path = os.path.join(lists, "trials.lst")
    for n, f in _lines(path):
        if len(f) != 3 or f[2] not in ("0", "1"):
            raise FormatError(f"{path}:{n}: expected `idNNNNN-enroll test/<utt>.wav 1|0`, got {' '.join(f)!r}")
        e = e_index.get(f[0])
        if e is None:
            raise FormatError(f"{path}:{n}: enrollment {f[0]} is not in {lists}/enroll.lst")
        t = t_index.get(f[1])
        if t is None:
            t = t_pos.get(os.path.basename(strip_audio_ext(f[1])))
            if t is None:
                raise FormatError(f"{path}:{n}: test utterance {f[1]} is not in {lists}/test.lst")
            t_index[f[1]] = t
        trials.add(e, t, f[2] == "1")
    emap = None
    path = os.path.join(lists, "enroll.map")
    if os.path.isfile(path):
        emap = {}
        for n, f in _lines(path):
            if len(f) < 2 or f[0] not in enroll:
                raise FormatError(f"{path}:{n}: expected `<enroll id of enroll.lst> <spk>/<utt>.wav ...`, "
                                  f"got {' '.join(f)[:80]!r}")
            spk = enroll[f[0]][0]
            for rel in f[1:]:
                stem = os.path.basename(strip_audio_ext(rel))
                emap[f"{spk}-{stem}"] = (spk, resolve(rel, os.path.join(root, "data"), f"{path}:{n}"),
                                         genre_of(stem, f"{path}:{n}"))
    return enroll, test, trials, emap


def durations(paths: list[str], nj: int) -> list[float]:
    def dur(p: str) -> float:
        i = sf.info(p)
        return i.frames / i.samplerate
    with ThreadPoolExecutor(max(1, nj)) as ex:
        return list(ex.map(dur, paths, chunksize=256))


def combine_short(utts: dict[str, tuple[str, str, str]], dur: dict[str, float], min_sec: float
                  ) -> tuple[dict[str, tuple[str, str, str]], dict[str, float]]:
    """Join consecutive utterances of one speaker and genre shorter than `min_sec` until they reach it (CNSRC /
    WeSpeaker practice). A joined utterance is a sox pipe with id `<first utt>-comb<k>`; longer utterances and a
    short remainder stay as they are."""
    out, odur = {}, {}
    groups: dict[tuple[str, str], list[str]] = {}
    for u in sorted(utts):
        groups.setdefault((utts[u][0], utts[u][2]), []).append(u)

    def emit(buf: list[str]) -> None:
        spk, _, genre = utts[buf[0]]
        if len(buf) == 1:
            out[buf[0]], odur[buf[0]] = utts[buf[0]], dur[buf[0]]
            return
        u = f"{buf[0]}-comb{len(buf)}"
        out[u] = (spk, "sox " + " ".join(utts[b][1] for b in buf) + " -t wav - |", genre)
        odur[u] = sum(dur[b] for b in buf)
    for members in groups.values():
        buf: list[str] = []
        for u in members:
            if dur[u] >= min_sec:
                emit([u])
                continue
            buf.append(u)
            if sum(dur[b] for b in buf) >= min_sec:
                emit(buf)
                buf = []
        if buf:
            emit(buf)
    return out, odur


def prepare(cn1: str, data: str, cn2: str | None = None, combine_sec: float = 0.0, min_dur: float = 0.0,
            check: bool = True, nj: int = 4) -> None:
    for d, what in ((cn1, "<cnceleb1-root> (CN-Celeb_flac/)"), (cn2, "--cnceleb2-root (CN-Celeb2_flac/)")):
        if d is not None and not os.path.isdir(os.path.join(d, "data")):
            raise FileNotFoundError(f"{d}: no data/ folder; {what} must be the unpacked release")
    cn1, cn2 = os.path.abspath(cn1), cn2 and os.path.abspath(cn2)   # wav.scp and sox pipes need absolute paths
    idx = DirIndex()
    train = speaker_utts(cn1, os.path.join(cn1, "dev", "dev.lst"), idx)
    if cn2:
        train2 = speaker_utts(cn2, os.path.join(cn2, "spk.lst"), idx)
        clash = sorted({v[0] for v in train2.values()} & {v[0] for v in train.values()})
        if clash:
            raise FormatError(f"{cn2}/spk.lst: speaker {clash[0]} is also a CN-Celeb1 dev speaker")
        train.update(train2)
    enroll, test, trials, emap = read_eval(cn1, idx)
    if check:
        every = [(p, u) for s in (train, test, emap or {}) for u, (_, p, _g) in sorted(s.items())]
        check_audio(every + [(p, u) for u, (_, p) in sorted(enroll.items())], nj)
    tdur = None
    if combine_sec > 0 or min_dur > 0:
        if combine_sec > 0 and shutil.which("sox") is None:
            raise FileNotFoundError("--combine-short needs sox on PATH (it joins the clips in wav.scp)")
        keys = sorted(train)
        tdur = dict(zip(keys, durations([train[u][1] for u in keys], nj)))
        if combine_sec > 0:
            n0 = len(train)
            train, tdur = combine_short(train, tdur, combine_sec)
            log.info("cnceleb_train: %d utterances joined into %d (--combine-short %g)", n0, len(train), combine_sec)
        if min_dur > 0:
            n0 = len(train)
            train = {u: v for u, v in train.items() if tdur[u] >= min_dur}
            log.info("cnceleb_train: dropped %d of %d utterances shorter than %g s", n0 - len(train), n0, min_dur)
            if not train:
                raise ValueError(f"--min-dur {min_dur}: no training utterance is that long")

    data = os.path.abspath(data)

    def files(utts: dict, **extra: dict) -> dict[str, list[str]]:
        return kaldi_files({u: (v[0], v[1]) for u, v in utts.items()}, **extra)
    tf = files(train, genre={u: v[2] for u, v in train.items()},
               **({"dur": {u: f"{tdur[u]:.3f}" for u in train}} if tdur else {}))
    write_dir(data, "cnceleb_train", tf)
    enroll_files = files({f"{s}-enroll": (s, p) for s, p in enroll.values()})
    if emap is not None:
        # The genre of an enrollment is that of most of its enroll.map utterances (for enroll x test tables).
        by_spk: dict[str, Counter] = {}
        for spk, _, g in emap.values():
            by_spk.setdefault(spk, Counter())[g] += 1
        enroll_files["spk2genre"] = [f"{s} {max(sorted(by_spk[s]), key=by_spk[s].__getitem__)}"
                                     if s in by_spk else f"{s} unknown" for s, _ in sorted(enroll.values())]
    write_dir(data, "eval_enroll", enroll_files)
    ef = files(test, genre={u: v[2] for u, v in test.items()})
    ef["trials"] = trials.lines()
    write_dir(data, "eval_test", ef)
    if emap is not None:
        mf = files(emap, genre={u: v[2] for u, v in emap.items()})
        mf["spk2genre"] = [ln for ln in enroll_files["spk2genre"] if ln.split()[0] in by_spk]
        write_dir(data, "eval_enroll_map", mf)
    elif os.path.isdir(os.path.join(data, "eval_enroll_map")):
        shutil.rmtree(os.path.join(data, "eval_enroll_map"))   # stale: this release has no enroll.map

    c = Counter(target=sum(trials.target), nontarget=len(trials) - sum(trials.target))
    compare_published(f"{data}/cnceleb_train", {"speakers": len({v[0] for v in train.values()}),
                                                "utterances": len(train)}, PUBLISHED["cnceleb_train"], SOURCE)
    compare_published(f"{data}/eval_enroll", {"speakers": len(enroll)}, PUBLISHED["eval_enroll"], SOURCE)
    compare_published(f"{data}/eval_test", {"speakers": len({v[0] for v in test.values()}), "utterances": len(test),
                                            "trials": len(trials), "target": c["target"],
                                            "nontarget": c["nontarget"]}, PUBLISHED["eval_test"], SOURCE)
    for name, utts in (("cnceleb_train", train), ("eval_test", test)):
        g = Counter(v[2] for v in utts.values())
        log.info("%s/%s genres: %s", data, name, " ".join(f"{k}={n}" for k, n in sorted(g.items())))
    if emap is not None:
        log.info("%s/eval_enroll_map: %d speakers, %d utterances", data, len({v[0] for v in emap.values()}), len(emap))


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.cnceleb.prepare", __doc__)
    ap.add_argument("cn1", help="CN-Celeb1 root (CN-Celeb_flac/)")
    ap.add_argument("data", help="output folder for the data dirs")
    ap.add_argument("--cnceleb2-root", default=None, help="CN-Celeb2 root (CN-Celeb2_flac/)")
    ap.add_argument("--combine-short", type=float, default=0.0,
                    help="join training clips of one speaker+genre shorter than this many seconds (0: off)")
    ap.add_argument("--min-dur", type=float, default=0.0, help="drop training utterances shorter than this (0: off)")
    add_bool(ap, "--check-audio", True, "check every audio file for truncation before writing")
    ap.add_argument("--nj", type=int, default=4, help="threads for reading audio headers")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)
    return run_main(ap.prog, lambda: prepare(args.cn1, args.data, args.cnceleb2_root, args.combine_short,
                                             args.min_dur, args.check_audio, args.nj))


if __name__ == "__main__":
    raise SystemExit(main())
