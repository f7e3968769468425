"""VoxCeleb1 (dev+test) and VoxCeleb2 dev -> Kaldi data dirs and Vox1-O/E/H trials (called by prepare_data.sh).

Usage: python -m local.voxceleb.prepare [options] <vox1-root> <data-dir>
 e.g.: python -m local.voxceleb.prepare --vox2-root /export/voxceleb2 /export/voxceleb1 data

Layouts (docs/data_formats.md §1-2): <vox1-root>/{dev,test}/wav/<spk>/<ytid>/<NNNNN>.wav, or
<vox1-root>/wav/... with dev and test together (split by vox1_meta.csv, else by the Vox1-O speakers);
VoxCeleb2 <vox2-root>/dev/aac/.../*.m4a (decoded by an ffmpeg pipe in wav.scp), or converted wavs under
dev/aac or dev/wav (a .wav wins over an .m4a of the same utterance); <vox2-root> may be dev/ itself.
Writes <data>/{vox1_dev,vox1_test,vox1,vox2_dev} (wav.scp utt2spk spk2utt) and <data>/vox1/trials/vox1_{O,E,H}.
Utterance ids are <spk>-<ytid>-<NNNNN> (id10270-x6uYqmx31kE-00001); the speaker is the first 7 characters,
since YouTube ids may contain '-'. Everything is checked before anything is written; see README.md.
"""
from __future__ import annotations

import csv
import logging
import os
import re
import shutil
from collections import Counter

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import FormatError
from local.prepcommon import check_audio, compare_published, kaldi_files, write_dir

log = logging.getLogger(__name__)

# Trial lists: our name -> accepted file names (VGG name first, then WeSpeaker's download name).
TRIAL_LISTS = {"vox1_O": ("veri_test2.txt", "vox1-O(cleaned).txt"),
               "vox1_E": ("list_test_all2.txt", "vox1-E(cleaned).txt"),
               "vox1_H": ("list_test_hard2.txt", "vox1-H(cleaned).txt")}
# Full-release figures, data_formats.md §1.4, §1.5, §2.3 (ASV-Subtools / Kaldi / PaddleSpeech comments).
PUBLISHED = {"vox1_dev": {"speakers": 1211, "utterances": 148642},
             "vox1_test": {"speakers": 40, "utterances": 4874},
             "vox1": {"speakers": 1251, "utterances": 153516},
             "vox2_dev": {"speakers": 5994, "utterances": 1092009},
             "vox1_O": {"trials": 37611, "target": 18802, "nontarget": 18809},
             "vox1_E": {"trials": 579818, "target": 289921, "nontarget": 289897},
             "vox1_H": {"trials": 550894, "target": 275488, "nontarget": 275406}}
SOURCE = "docs/data_formats.md §1-2"
_SPK = re.compile(r"id\d{5}\Z")
_NAME = re.compile(r"\d{5}\Z")
FFMPEG = "ffmpeg -v 8 -i {} -f wav -acodec pcm_s16le - |"


def scan(base: str, exts: tuple[str, ...]) -> dict[str, str]:
    """{utt id: path} of every <base>/<spk>/<ytid>/<NNNNN>.<ext>; other files are counted and skipped."""
    out: dict[str, str] = {}
    skipped = 0
    for spk in sorted(os.listdir(base)):
        sdir = os.path.join(base, spk)
        if not os.path.isdir(sdir):
            skipped += 1
            continue
        if not _SPK.match(spk):
            raise FormatError(f"{sdir}: speaker folders must be named idNNNNN; is {base} a VoxCeleb tree?")
        for yt in sorted(os.listdir(sdir)):
            vdir = os.path.join(sdir, yt)
            if not os.path.isdir(vdir):
                skipped += 1
                continue
            for f in sorted(os.listdir(vdir)):
                stem, ext = os.path.splitext(f)
                if ext not in exts or not _NAME.match(stem):
                    skipped += 1
                    continue
                uid = f"{spk}-{yt}-{stem}"
                # A converted .wav wins over the .m4a of the same utterance (exts is in preference order).
                if uid not in out or exts.index(ext) < exts.index(os.path.splitext(out[uid])[1]):
                    out[uid] = os.path.join(vdir, f)
    if skipped:
        log.info("%s: skipped %d entries that are not <spk>/<ytid>/<NNNNN>%s", base, skipped, "|".join(exts))
    return out


def vox1_sets(root: str, test_speakers: set[str] | None, meta_csv: str | None) -> dict[str, dict[str, str]]:
    """{'vox1_dev': {utt: path}, 'vox1_test': {...}} from either layout."""
    split = {p: os.path.join(root, p, "wav") for p in ("dev", "test")}
    if any(os.path.isdir(d) for d in split.values()):
        return {f"vox1_{p}": scan(d, (".wav",)) if os.path.isdir(d) else {} for p, d in split.items()}
    together = os.path.join(root, "wav")
    if not os.path.isdir(together):
        raise FileNotFoundError(f"{root}: no dev/wav, test/wav or wav/ folder; <vox1-root> must hold the unzipped "
                                "vox1_dev_wav.zip / vox1_test_wav.zip (docs/data_formats.md §1.1)")
    utts = scan(together, (".wav",))
    if meta_csv:
        test = {s for s, st in read_meta(meta_csv).items() if st == "test"}
        how = meta_csv
    elif test_speakers is not None:
        test, how = test_speakers, "the speakers of the Vox1-O list"
    else:
        raise FileNotFoundError(f"{together}: dev and test are together and there is neither vox1_meta.csv nor "
                                "veri_test2.txt to split them; put one in --meta-dir")
    log.info("%s: dev/test split from %s", together, how)
    return {"vox1_dev": {u: p for u, p in utts.items() if u[:7] not in test},
            "vox1_test": {u: p for u, p in utts.items() if u[:7] in test}}


def read_meta(path: str) -> dict[str, str]:
    """vox1_meta.csv -> {speaker: dev|test}. TAB-separated in the release; comma-separated copies exist."""
    with open(path, newline="") as f:
        text = f.read()
    delim = "\t" if "\t" in text.split("\n", 1)[0] else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delim))
    if not rows or [c.strip() for c in rows[0]][-1:] != ["Set"]:
        raise FormatError(f"{path}:1: expected a header ending in 'Set' (VoxCeleb1 ID, ..., Set)")
    out = {}
    for n, r in enumerate(rows[1:], 2):
        if not r:
            continue
        spk, st = r[0].strip(), r[-1].strip()
        if not _SPK.match(spk) or st not in ("dev", "test"):
            raise FormatError(f"{path}:{n}: expected `idNNNNN ... dev|test`, got {delim.join(r)!r}")
        out[spk] = st
    return out


def path_to_uid(rel: str) -> str | None:
    """`id10270/x6uYqmx31kE/00001.wav` -> `id10270-x6uYqmx31kE-00001` (None if not of that form)."""
    parts = rel.split("/")
    if len(parts) != 3 or not _SPK.match(parts[0]) or not parts[2].endswith(".wav"):
        return None
    return f"{parts[0]}-{parts[1]}-{parts[2][:-4]}"


def read_trials(path: str) -> list[tuple[str, str, str, int]]:
    """`<1|0> <spk/ytid/NNNNN.wav> <spk/ytid/NNNNN.wav>` -> (enroll uid, test uid, label, line)."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fld = line.split()
            if not fld:
                continue
            a = path_to_uid(fld[1]) if len(fld) == 3 else None
            b = path_to_uid(fld[2]) if len(fld) == 3 else None
            if fld[0] not in ("0", "1") or a is None or b is None:
                raise FormatError(f"{path}:{n}: expected `1|0 idNNNNN/<ytid>/NNNNN.wav idNNNNN/<ytid>/NNNNN.wav`, "
                                  f"got {line.strip()!r}")
            out.append((a, b, "target" if fld[0] == "1" else "nontarget", n))
    if not out:
        raise FormatError(f"{path}: empty trial list")
    return out


def find_list(meta_dir: str, names: tuple[str, ...]) -> str | None:
    return next((os.path.join(meta_dir, n) for n in names if os.path.isfile(os.path.join(meta_dir, n))), None)


def vox2_dir(root: str) -> str:
    for sub in ("dev/aac", "dev/wav", "aac", "wav"):
        if os.path.isdir(os.path.join(root, sub)):
            return os.path.join(root, sub)
    raise FileNotFoundError(f"{root}: no dev/aac, dev/wav, aac/ or wav/ folder; --vox2-root must hold the unzipped "
                            "vox2_dev_aac.zip (dev/aac/...) or its converted wav tree (docs/data_formats.md §2)")


def prepare(vox1: str, data: str, vox2: str | None = None, meta_dir: str | None = None,
            check: bool = True, nj: int = 4) -> None:
    if not os.path.isdir(vox1):
        raise FileNotFoundError(f"{vox1}: no such directory; <vox1-root> must be the VoxCeleb1 root")
    meta_dir = meta_dir or vox1
    lists = {name: find_list(meta_dir, names) for name, names in TRIAL_LISTS.items()}
    if lists["vox1_O"] is None:
        raise FileNotFoundError(f"{meta_dir}: no veri_test2.txt (the cleaned Vox1-O list, a separate download from "
                                "the VoxCeleb site's meta/ folder); put it there or pass --meta-dir")
    trials = {name: read_trials(p) for name, p in lists.items() if p}
    meta_csv = find_list(meta_dir, ("vox1_meta.csv",))
    o_spk = {t[1][:7] for t in trials["vox1_O"]} | {t[0][:7] for t in trials["vox1_O"]}
    sets = vox1_sets(vox1, o_spk, meta_csv)
    if not sets["vox1_test"]:
        raise FileNotFoundError(f"{vox1}: no VoxCeleb1 test audio found (test/wav/ or wav/id10270...); "
                                "Vox1-O needs it")
    allv1 = {**sets["vox1_dev"], **sets["vox1_test"]}
    keep = {}
    for name, tr in trials.items():
        if name != "vox1_O" and not sets["vox1_dev"]:
            log.warning("%s: skipped: it needs the VoxCeleb1 dev audio, which is not under %s", name, vox1)
            continue
        for a, b, _, n in tr:
            for u in (a, b):
                if u not in allv1:
                    spk, rest = u[:7], u[8:]
                    raise FormatError(f"{lists[name]}:{n}: utterance {spk}/{rest[:-6]}/{rest[-5:]}.wav is not in "
                                      f"the VoxCeleb1 audio under {vox1}; complete the copy, or use the list that "
                                      "matches this release")
        keep[name] = tr
    if vox2:
        v2 = scan(vox2_dir(vox2), (".wav", ".m4a"))
        if not v2:
            raise FileNotFoundError(f"{vox2_dir(vox2)}: no <spk>/<ytid>/<NNNNN>.m4a or .wav files")
        n_m4a = sum(p.endswith(".m4a") for p in v2.values())
        if n_m4a and shutil.which("ffmpeg") is None:
            raise FileNotFoundError(f"{vox2}: {n_m4a} VoxCeleb2 files are .m4a and ffmpeg is not on PATH; install "
                                    "ffmpeg (it decodes them in wav.scp), or convert them to wav first")
        sets["vox2_dev"] = v2
    if check:
        check_audio(((p, f"{name} ({u})") for name, s in sets.items() for u, p in sorted(s.items())), nj)

    data = os.path.abspath(data)
    outs = {"vox1_dev": sets["vox1_dev"], "vox1_test": sets["vox1_test"], "vox1": allv1}
    if "vox2_dev" in sets:
        outs["vox2_dev"] = sets["vox2_dev"]
    for name, utts in outs.items():
        if not utts:
            log.warning("%s: no audio, not written", name)
            continue
        scp = {u: (u[:7], FFMPEG.format(os.path.abspath(p)) if p.endswith(".m4a") else os.path.abspath(p))
               for u, p in utts.items()}
        files = kaldi_files(scp)
        if name == "vox1":
            for t, tr in keep.items():
                files[f"trials/{t}"] = [f"{a} {b} {lab}" for a, b, lab, _ in tr]
        write_dir(data, name, files)
        compare_published(f"{data}/{name}", {"speakers": len({u[:7] for u in utts}), "utterances": len(utts)},
                          PUBLISHED[name], SOURCE)
    for t, tr in keep.items():
        c = Counter(lab for _, _, lab, _ in tr)
        compare_published(f"{data}/vox1/trials/{t}", {"trials": len(tr), "target": c["target"],
                                                      "nontarget": c["nontarget"]}, PUBLISHED[t], SOURCE)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.voxceleb.prepare", __doc__)
    ap.add_argument("vox1", help="VoxCeleb1 root")
    ap.add_argument("data", help="output folder for the data dirs")
    ap.add_argument("--vox2-root", default=None, help="VoxCeleb2 root (dev/aac/... m4a or converted wav)")
    ap.add_argument("--meta-dir", default=None, help="folder of veri_test2.txt etc. (default: <vox1-root>)")
    add_bool(ap, "--check-audio", True, "check every wav for truncation before writing")
    ap.add_argument("--nj", type=int, default=4, help="threads for the audio check")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)
    return run_main(ap.prog, lambda: prepare(args.vox1, args.data, args.vox2_root, args.meta_dir,
                                             args.check_audio, args.nj))


if __name__ == "__main__":
    raise SystemExit(main())
