"""Miniature copies of the real corpus layouts (docs/data_formats.md §1-5) with tiny synthetic audio.

The folder depth, file names, list files and their columns copy the real releases; only the number of
speakers and utterances is small and the audio is ~1 s of a synthetic voice per speaker (local/synthetic),
so a recipe run on them learns something. Every builder is deterministic for a given seed and returns
what it made (paths and the counts a prep must report), so tests assert against the builder, never
against hard-coded numbers.

    make_fake_voxceleb(root)   -> FakeVox    voxceleb1/{dev,test}/wav (or wav/ combined), voxceleb2/dev/aac,
                                             veri_test2.txt, list_test_all2.txt, list_test_hard2.txt, vox1_meta.csv
    make_fake_cnceleb(root)    -> FakeCnc    CN-Celeb_flac/ (FLAC audio, lists naming .wav) + CN-Celeb2_flac/
    make_fake_sr(root)         -> FakeSr     CNSRC Task2_dev-like: target/, pool/, metadata/{enroll,test}.meta
    make_fake_la(root)         -> FakeLa     ASVspoof 2019 LA/: flac/ per part, cm/asv protocols and eval ASV
                                             scores cut from the real files in ../shared/data (skips without)
    write_ffmpeg_shim(bindir)                an `ffmpeg` that "decodes" the fake .m4a files (they hold WAV data)
    truncate(path)                           cut an audio file in the middle of its data (a failure-path test)
"""
from __future__ import annotations

import itertools
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from local.asvspoof2019.prepare import CM_PROTOCOL
from local.synthetic.genres import GENRES
from local.synthetic.speak import n_samples, speak
from local.synthetic.voices import SR, sample_voice

# Real YouTube ids from data_formats.md §1.3, with `-` and `_` in them; more are drawn at random.
REAL_YTIDS = ("x6uYqmx31kE", "na8-QEFmj44", "8jEAjG6SegY", "GWXujl-xAVM", "Y-qKARMSO7k", "0cYFdtyWVds")
YT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CNC_GENRES = ("singing", "interview", "live_broadcast", "speech", "vlog", "drama")


class _Voices:
    """One synthetic voice per speaker; genres the generator lacks are spoken as `speech`."""

    def __init__(self, seed: int, seconds: float):
        self.rng = np.random.default_rng(seed)
        self.seconds = seconds
        self.voices: dict = {}

    def audio(self, spk: str, genre: str = "speech", seconds: float | None = None) -> np.ndarray:
        if spk not in self.voices:
            self.voices[spk] = sample_voice(self.rng)
        dur = self.seconds if seconds is None else seconds
        x = speak(self.voices[spk], genre if genre in GENRES else "speech", self.rng, n_samples(dur)).wave
        return np.clip(0.1 * x, -0.99, 0.99).astype(np.float32)

    def write(self, path: Path, spk: str, genre: str = "speech", seconds: float | None = None,
              fmt: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = fmt or ("FLAC" if path.suffix == ".flac" else "WAV")
        sf.write(str(path), self.audio(spk, genre, seconds), SR, subtype="PCM_16", format=fmt)


def _ytid(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list(YT_CHARS), 11))


# ----------------------------------------------------------------------------------------------- VoxCeleb
@dataclass
class FakeVox:
    vox1_root: Path
    vox2_root: Path | None
    meta_dir: Path
    dev_spk: list[str]
    test_spk: list[str]
    vox2_spk: list[str]
    utts: dict[str, list[str]]            # set (vox1_dev, vox1_test, vox2_dev) -> Kaldi utt ids
    trials: dict[str, Counter] = field(default_factory=dict)   # vox1_O/E/H -> Counter(target=, nontarget=)
    gender: dict[str, str] = field(default_factory=dict)


def make_fake_voxceleb(root: str | os.PathLike, *, n_dev: int = 4, n_test: int = 3, n_vox2: int = 4,
                       videos: int = 2, utts_per_video: int = 2, layout: str = "split",
                       vox2_format: str = "wav-aac", meta: bool = True, seconds: float = 1.0,
                       seed: int = 0) -> FakeVox:
    """VoxCeleb1 dev+test and VoxCeleb2 dev under `root`.

    layout: "split" = voxceleb1/{dev,test}/wav/<spk>/<ytid>/<NNNNN>.wav (Kaldi v2 / WeSpeaker);
            "combined" = voxceleb1/wav/... (the unzipped archives, dev and test together).
    vox2_format: "m4a" = voxceleb2/dev/aac/.../*.m4a (WAV bytes; decode with write_ffmpeg_shim),
                 "wav-aac" = converted wavs kept under dev/aac (WeSpeaker), "wav" = under dev/wav
                 (voxceleb_trainer), None = no VoxCeleb2.
    meta: also write vox1_meta.csv (TAB-separated). The trial lists go to voxceleb1/ (= meta_dir).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    voices = _Voices(seed, seconds)
    v1 = root / "voxceleb1"
    dev_spk = [f"id1{1 + i:04d}" for i in range(n_dev)]          # id10001.. (dev ids are outside 10270..10309)
    test_spk = [f"id1{270 + i:04d}" for i in range(n_test)]      # id10270.. as in the real test set
    gender = {s: "mf"[i % 2] for i, s in enumerate(dev_spk + test_spk)}
    ytids = iter(REAL_YTIDS)
    utts: dict[str, list[str]] = {"vox1_dev": [], "vox1_test": [], "vox2_dev": []}
    rel: dict[str, str] = {}   # Kaldi id -> spk/ytid/NNNNN.wav as the trial lists name it
    for part, spks in (("test", test_spk), ("dev", dev_spk)):   # test first: it gets the real YouTube ids
        for spk in spks:
            for v in range(videos):
                yt = next(ytids, None) or _ytid(rng)
                for k in range(utts_per_video):
                    name = f"{k + 1 + 3 * v:05d}.wav"   # file numbers are not contiguous in the real data
                    base = v1 / part / "wav" if layout == "split" else v1 / "wav"
                    voices.write(base / spk / yt / name, spk)
                    uid = f"{spk}-{yt}-{name[:-4]}"
                    utts[f"vox1_{part}"].append(uid)
                    rel[uid] = f"{spk}/{yt}/{name}"
    if meta:
        lines = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
        for i, s in enumerate(dev_spk + test_spk):
            nat = ("New Zealand", "USA", "South Korea")[i % 3]
            lines.append(f"{s}\tCeleb_{i}_Name\t{gender[s]}\t{nat}\t{'test' if s in test_spk else 'dev'}")
        (v1 / "vox1_meta.csv").write_text("\n".join(lines) + "\n")
    trials: dict[str, Counter] = {}
    test_ids = sorted(utts["vox1_test"])
    all_ids = sorted(utts["vox1_dev"] + utts["vox1_test"])
    lists = {"vox1_O": ("veri_test2.txt", test_ids, False), "vox1_E": ("list_test_all2.txt", all_ids, False),
             "vox1_H": ("list_test_hard2.txt", all_ids, True)}
    for name, (fname, ids, same_gender) in lists.items():
        out, c = [], Counter()
        for a, b in itertools.combinations(ids, 2):
            if same_gender and gender[a[:7]] != gender[b[:7]]:
                continue
            target = a[:7] == b[:7]
            if not target and rng.random() < 0.5:   # keep the lists small; targets all kept
                continue
            out.append(f"{int(target)} {rel[a]} {rel[b]}")
            c["target" if target else "nontarget"] += 1
        (v1 / fname).write_text("\n".join(out) + "\n")
        trials[name] = c
    v2 = None
    vox2_spk: list[str] = []
    if vox2_format:
        v2 = root / "voxceleb2"
        sub, ext = {"m4a": ("aac", ".m4a"), "wav-aac": ("aac", ".wav"), "wav": ("wav", ".wav")}[vox2_format]
        vox2_spk = [f"id0{12 + 3 * i:04d}" for i in range(n_vox2)]   # id00012, id00015, ...
        for spk in vox2_spk:
            for _ in range(videos):
                yt = _ytid(rng)
                for k in range(utts_per_video):
                    voices.write(v2 / "dev" / sub / spk / yt / f"{k + 1:05d}{ext}", spk, fmt="WAV")
                    utts["vox2_dev"].append(f"{spk}-{yt}-{k + 1:05d}")
    for k in utts:
        utts[k].sort()
    return FakeVox(v1, v2, v1, dev_spk, test_spk, vox2_spk, utts, trials, gender)


def write_ffmpeg_shim(bindir: str | os.PathLike) -> Path:
    """An `ffmpeg` for the fake .m4a files (which hold WAV bytes): `ffmpeg ... -i <f> ... -` copies <f> to stdout."""
    bindir = Path(bindir)
    bindir.mkdir(parents=True, exist_ok=True)
    p = bindir / "ffmpeg"
    p.write_text('#!/usr/bin/env bash\n# test shim: the fake m4a files are WAV data\n'
                 'while [ $# -gt 0 ]; do [ "$1" = -i ] && { cat "$2"; exit; }; shift; done\nexit 1\n')
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


# ----------------------------------------------------------------------------------------------- CN-Celeb
@dataclass
class FakeCnc:
    cn1_root: Path
    cn2_root: Path | None
    dev_spk: list[str]
    eval_spk: list[str]                   # enrolled eval speakers
    cn2_spk: list[str]
    train_utts: list[str]                 # Kaldi ids of cnceleb_train (CN-Celeb1 dev + CN-Celeb2)
    test_utts: list[str]                  # Kaldi ids of eval_test
    train_genres: Counter                 # genre -> utterances in cnceleb_train
    test_genres: Counter                  # genre -> utterances in eval_test
    trials: Counter                       # target / nontarget
    enroll_map: dict[str, list[str]]      # eval speaker -> Kaldi ids of its enroll.map utterances
    durations: dict[str, float]           # Kaldi id -> seconds (training utterances)
    test_only_spk: list[str] = field(default_factory=list)   # in eval/test but not enrolled (as in the release)


def make_fake_cnceleb(root: str | os.PathLike, *, n_dev: int = 4, n_eval: int = 3, n_cn2: int = 3,
                      genres_per_spk: int = 2, utts_per_genre: int = 3, test_per_spk: int = 3,
                      audio_ext: str = ".flac", list_ext: str = ".wav", enroll_map: bool = True,
                      cn2: bool = True, n_test_only: int = 1, seconds: float = 1.0, seed: int = 0) -> FakeCnc:
    """CN-Celeb_flac/ and CN-Celeb2_flac/ under `root`, as in data_formats.md §3-4.

    Audio files end in `audio_ext` (.flac in the FLAC release) while the eval lists name `list_ext` (.wav),
    as the real FLAC release does. Training clips last 0.5-1.5 x `seconds` (so short-clip joining has work).
    Eval speakers (id00800..) have data/ utterances (those of enroll.map) and eval/test files; `n_test_only`
    more speakers are in eval/test without an enrollment (the release: 196 enrolled, 200 in test); trials.lst is
    the full enroll x test cross product, as in the real list.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    voices = _Voices(seed, seconds)
    c1 = root / "CN-Celeb_flac"
    dev_spk = [f"id{i:05d}" for i in range(n_dev)]
    eval_spk = [f"id{800 + i:05d}" for i in range(n_eval)]
    test_only = [f"id{800 + n_eval + i:05d}" for i in range(n_test_only)]
    cn2_spk = [f"id{10000 + i:05d}" for i in range(n_cn2)] if cn2 else []
    train, tgen, durs = [], Counter(), {}
    spk_files: dict[str, list[str]] = {}

    def data_files(base: Path, spk: str, k: int) -> list[str]:
        names = []
        for g in range(genres_per_spk):
            genre = CNC_GENRES[(k + g) % len(CNC_GENRES)]
            for u in range(utts_per_genre):
                name = f"{genre}-{1 + g:02d}-{u + 1:03d}"
                dur = round(float(rng.uniform(0.5, 1.5)) * seconds, 2)
                voices.write(base / "data" / spk / f"{name}{audio_ext}", spk, genre, dur)
                names.append(name)
                durs[f"{spk}-{name}"] = n_samples(dur) / SR
        return names

    for k, spk in enumerate(dev_spk + eval_spk):
        spk_files[spk] = data_files(c1, spk, k)
        if spk in dev_spk:
            train += [f"{spk}-{n}" for n in spk_files[spk]]
            tgen.update(n.split("-")[0] for n in spk_files[spk])
    (c1 / "dev").mkdir(parents=True)
    (c1 / "dev" / "dev.lst").write_text("".join(f"{s}\n" for s in dev_spk))
    lists = c1 / "eval" / "lists"
    lists.mkdir(parents=True)
    enroll_lines, map_lines, emap = [], [], {}
    for spk in eval_spk:
        voices.write(c1 / "eval" / "enroll" / f"{spk}-enroll{audio_ext}", spk, "speech", 2 * seconds)
        enroll_lines.append(f"{spk}-enroll enroll/{spk}-enroll{list_ext}")
        used = spk_files[spk][:2]
        map_lines.append(f"{spk}-enroll " + " ".join(f"{spk}/{n}{list_ext}" for n in used))
        emap[spk] = [f"{spk}-{n}" for n in used]
    test, egen = [], Counter()
    for k, spk in enumerate(eval_spk + test_only):
        for u in range(test_per_spk):
            genre = CNC_GENRES[(k + u) % len(CNC_GENRES)]
            name = f"{spk}-{genre}-{1 + u:02d}-{u + 1:03d}"
            voices.write(c1 / "eval" / "test" / f"{name}{audio_ext}", spk, genre)
            test.append(name)
            egen[genre] += 1
    (lists / "enroll.lst").write_text("".join(f"{x}\n" for x in enroll_lines))
    (lists / "test.lst").write_text("".join(f"test/{t}{list_ext}\n" for t in test))
    if enroll_map:
        (lists / "enroll.map").write_text("".join(f"{x}\n" for x in map_lines))
    trl, tc = [], Counter()
    for spk in eval_spk:
        for t in test:
            target = t[:7] == spk
            trl.append(f"{spk}-enroll test/{t}{list_ext} {int(target)}")
            tc["target" if target else "nontarget"] += 1
    (lists / "trials.lst").write_text("".join(f"{x}\n" for x in trl))
    c2 = None
    if cn2:
        c2 = root / "CN-Celeb2_flac"
        for k, spk in enumerate(cn2_spk):
            names = data_files(c2, spk, k + 2)
            train += [f"{spk}-{n}" for n in names]
            tgen.update(n.split("-")[0] for n in names)
        (c2 / "spk.lst").write_text("".join(f"{s}\n" for s in cn2_spk))
    return FakeCnc(c1, c2, dev_spk, eval_spk, cn2_spk, sorted(train), sorted(test), tgen, egen, tc,
                   emap if enroll_map else {}, {u: durs[u] for u in train}, test_only)


# ----------------------------------------------------------------------------------------------- CNSRC SR
@dataclass
class FakeSr:
    root: Path                            # the Task2_dev-like folder
    targets: list[str]                    # target speakers
    pool: dict[str, str]                  # pool utt id (basename) -> speaker (targets or others)
    has_key: bool


def make_fake_sr(root: str | os.PathLike, *, n_targets: int = 3, target_utts: int = 3, n_others: int = 3,
                 other_utts: int = 2, with_key: bool = True, seconds: float = 1.0, seed: int = 0) -> FakeSr:
    """A CNSRC 2022 SR.dev-like package (data_formats.md §5, "from code"; file names there not found, so
    invented): target/<name>.wav (one enrollment utterance per target), pool/<name>.wav, and
    metadata/enroll.meta (`target/<name>.wav <meta-id>`), metadata/test.meta (`pool/<name>.wav <meta-id>`,
    only when with_key; SR.eval ships without it). meta-id = `<speaker>-<genre>-NN-NNN`."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    voices = _Voices(seed + 1, seconds)
    targets = [f"id{20000 + i:05d}" for i in range(n_targets)]
    others = [f"id{21000 + i:05d}" for i in range(n_others)]
    enroll, test, pool = [], [], {}
    for i, spk in enumerate(targets):
        name = f"T{i + 1:05d}"
        voices.write(root / "target" / f"{name}.wav", spk, "speech", 2 * seconds)
        enroll.append(f"target/{name}.wav {spk}-speech-01-001")
    items = [(s, u) for s in targets for u in range(target_utts)] + [(s, u) for s in others for u in range(other_utts)]
    for j in rng.permutation(len(items)):
        spk, u = items[j]
        name = f"P{len(pool) + 1:06d}"
        genre = CNC_GENRES[u % len(CNC_GENRES)]
        voices.write(root / "pool" / f"{name}.wav", spk, genre)
        test.append(f"pool/{name}.wav {spk}-{genre}-01-{u + 2:03d}")
        pool[name] = spk
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    (root / "metadata" / "enroll.meta").write_text("".join(f"{x}\n" for x in enroll))
    if with_key:
        (root / "metadata" / "test.meta").write_text("".join(f"{x}\n" for x in test))
    return FakeSr(root, targets, pool, with_key)


# ----------------------------------------------------------------------------------------------- ASVspoof 2019 LA
LA_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "asvspoof2019_la"
LA_ASV_SCORES = "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"


@dataclass
class FakeLa:
    root: Path                            # the LA/ folder
    cm: dict[str, list[str]]              # part -> the CM protocol lines written (real lines, real order)
    trials: dict[str, list[str]]          # dev/eval -> the SASV (gi.trl) lines written
    enroll: dict[str, dict[str, list[str]]]   # dev/eval -> enrolled speaker -> its enrollment file ids
    asv_scores: list[str]                 # the organisers' eval ASV score lines of those trials, same order


def _real_la(name: str) -> list[str]:
    sub = "asv_scores" if name.endswith(".scores.txt") else "protocols"
    return (LA_SHARED / sub / name).read_text().splitlines()


def make_fake_la(root: str | os.PathLike, *, train_spk: int = 2, train_bona: int = 2, enrolled_per_gender: int = 1,
                 trials_per_label: int = 2, seconds: float = 1.0, seed: int = 0) -> FakeLa:
    """LA/ as in LA.zip (data_formats.md §6-7) under `root`, every protocol a subset of the real lines in
    ../shared/data/asvspoof2019_la (skips the calling test when they are absent), unchanged and in their order:
    train: the first `train_spk` speakers, `train_bona` bona fide lines and one spoof line (a different attack
    per speaker) each; dev/eval: the first `enrolled_per_gender` speakers of each gender's enrollment list (whole
    lines), per speaker the first `trials_per_label` target, nontarget and spoof trials (spoofs of distinct
    attacks first), the CM lines of those test files, and the organisers' eval ASV scores of the kept eval
    trials. Every listed file gets `seconds` of the synthetic voice of its speaker (a spoof: of the speaker
    it imitates) as 16 kHz FLAC."""
    if not (LA_SHARED / "protocols").is_dir():
        pytest.skip(f"real ASVspoof 2019 LA protocols not present at {LA_SHARED}")
    la = Path(root) / "LA"
    cm_dir, asv_dir = la / "ASVspoof2019_LA_cm_protocols", la / "ASVspoof2019_LA_asv_protocols"
    score_dir = la / "ASVspoof2019_LA_asv_scores"
    for d in (cm_dir, asv_dir, score_dir):
        d.mkdir(parents=True)
    cm: dict[str, list[str]] = {}
    trials: dict[str, list[str]] = {}
    enroll: dict[str, dict[str, list[str]]] = {}
    audio: dict[str, dict[str, str]] = {p: {} for p in CM_PROTOCOL}   # part -> file id -> speaker voice
    asv_scores: list[str] = []

    train = [line.split() for line in _real_la(CM_PROTOCOL["train"])]
    speakers = list(dict.fromkeys(f[0] for f in train))[:train_spk]
    keep: set[int] = set()
    for k, spk in enumerate(speakers):
        own = [i for i, f in enumerate(train) if f[0] == spk]
        keep.update([i for i in own if train[i][4] == "bonafide"][:train_bona])
        spoofs = [i for i in own if train[i][4] == "spoof"]
        attacks = sorted({train[i][3] for i in spoofs})
        keep.add(next(i for i in spoofs if train[i][3] == attacks[k % len(attacks)]))
    cm["train"] = [" ".join(train[i]) for i in sorted(keep)]

    for part in ("dev", "eval"):
        enroll[part] = {}
        for gender in ("female", "male"):
            name = f"ASVspoof2019.LA.asv.{part}.{gender}.trn.txt"
            lines = _real_la(name)[:enrolled_per_gender]
            (asv_dir / name).write_text("".join(f"{line}\n" for line in lines))
            for line in lines:
                spk, files = line.split()
                enroll[part][spk] = files.split(",")
        name = f"ASVspoof2019.LA.asv.{part}.gi.trl.txt"
        rows = [line.split() for line in _real_la(name)]
        by_key: dict[tuple[str, str], list[int]] = {}
        for i, f in enumerate(rows):
            if f[0] in enroll[part]:
                by_key.setdefault((f[0], f[3]), []).append(i)
        keep = set()
        for spk in enroll[part]:
            for label in ("target", "nontarget", "spoof"):
                own = by_key.get((spk, label), [])
                first = sorted({rows[i][2]: i for i in reversed(own)}.values())   # the first line per attack
                keep.update((first + [i for i in own if i not in first])[:trials_per_label])
        trials[part] = [" ".join(rows[i]) for i in sorted(keep)]
        (asv_dir / name).write_text("".join(f"{t}\n" for t in trials[part]))
        if part == "eval":
            scores = _real_la(LA_ASV_SCORES)   # line for line with the eval trial list
            asv_scores = [scores[i] for i in sorted(keep)]
            (score_dir / LA_ASV_SCORES).write_text("".join(f"{s}\n" for s in asv_scores))
        used = {rows[i][1] for i in keep}
        cm[part] = [line for line in _real_la(CM_PROTOCOL[part]) if line.split()[1] in used]
        audio[part].update({f: spk for spk, files in enroll[part].items() for f in files})
    for part, lines in cm.items():
        # column 1 of a spoof's CM line is the speaker it imitates: it gets that voice
        (cm_dir / CM_PROTOCOL[part]).write_text("".join(f"{line}\n" for line in lines))
        audio[part].update({line.split()[1]: line.split()[0] for line in lines})
    voices = _Voices(seed, seconds)
    for part, files in audio.items():
        for f, spk in sorted(files.items()):
            voices.write(la / f"ASVspoof2019_LA_{part}" / "flac" / f"{f}.flac", spk)
    return FakeLa(la, cm, trials, enroll, asv_scores)


def truncate(path: str | os.PathLike, keep: float = 0.5) -> None:
    """Cut an audio file to `keep` of its bytes, as an interrupted copy leaves it."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[:max(64, int(len(data) * keep))])
