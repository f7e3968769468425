"""Kaldi data dirs from the synthetic corpus's metadata (called by prepare_data.sh).

    python -m local.synthetic.datadirs <corpus-dir> <data-dir>

Writes, sorted with LC_ALL=C order and with absolute wav paths:
  train/ enroll/ test/        wav.scp utt2spk spk2utt utt2dur utt2genre; test/trials
  test_corrupt/               (when the corpus has meta/corrupt.tsv) test/ under held-out noises and
                              rooms: the same utterance ids, speakers, genres and trials, plus
                              utt2corruption (`utt noise|music|babble|reverb|reverb+noise`)
  spoof_{train,dev,eval}/     the same + utt2attack (`utt bonafide|A0x`); utt2spk = claimed speaker.
                              Bona fide: 6 train utterances of each spoof_train speaker; all test
                              utterances of the dev/eval-half speakers
  sasv_{dev,eval}/trials      `enroll_spk test_utt target|nontarget|spoof` (utts in spoof_{dev,eval})
  mix_{train,test}/           wav.scp utt2spk (utt -> utt) spk2utt utt2dur utt2spks utt2overlap
                              utt2sir utt2sources (`utt s1.wav s2.wav`) rttm
Each directory is built under a temporary name and renamed into place.
"""
from __future__ import annotations

import csv
import os
import shutil
import sys
from collections import defaultdict

from common.errors import FormatError
from local.synthetic.rate import SR

BONAFIDE_PER_TRAIN_SPK = 6


def _read_tsv(path: str, need: list[str]) -> list[dict[str, str]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: missing; is this a corpus made by local/synthetic/generate.py?")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    missing = [c for c in need if rows and c not in rows[0]]
    if missing:
        raise FormatError(f"{path}:1: header lacks column(s) {', '.join(missing)}; regenerate the corpus")
    return rows


def _write(d: str, name: str, lines: list[str]) -> None:
    with open(os.path.join(d, name), "w") as f:
        f.writelines(line + "\n" for line in sorted(lines))


def _datadir(out: str, name: str, rows: list[dict[str, str]], corpus: str, extra: dict[str, list[str]]) -> None:
    tmp = os.path.join(out, f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        spk2utt[r["spk"]].append(r["utt"])
    _write(tmp, "wav.scp", [f"{r['utt']} {os.path.join(corpus, r['path'])}" for r in rows])
    _write(tmp, "utt2spk", [f"{r['utt']} {r['spk']}" for r in rows])
    _write(tmp, "spk2utt", [f"{s} {' '.join(sorted(u))}" for s, u in spk2utt.items()])
    _write(tmp, "utt2dur", [f"{r['utt']} {int(r['samples']) / SR:.4f}" for r in rows])
    for fname, lines in extra.items():
        _write(tmp, fname, lines)
    dst = os.path.join(out, name)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def _copy_list(src: str, dst_dir: str) -> None:
    os.makedirs(dst_dir, exist_ok=True)
    with open(src) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if not lines:
        raise FormatError(f"{src}: empty trial list; regenerate the corpus")
    tmp = os.path.join(dst_dir, ".trials.tmp")
    _write(dst_dir, ".trials.tmp", lines)
    os.replace(tmp, os.path.join(dst_dir, "trials"))


def prepare(corpus: str, out: str) -> list[str]:
    """Write every data dir; returns their names."""
    corpus = os.path.abspath(corpus)
    if not os.path.exists(os.path.join(corpus, ".done")):
        raise FileNotFoundError(f"{corpus}/.done: missing; the corpus is unfinished, rerun generate.py")
    os.makedirs(out, exist_ok=True)
    utts = _read_tsv(os.path.join(corpus, "meta", "utts.tsv"),
                     ["utt", "spk", "set", "genre", "attack", "samples", "path"])
    by_set: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in utts:
        by_set[r["set"]].append(r)

    def genre_attack(rows: list[dict[str, str]], attack: bool) -> dict[str, list[str]]:
        extra = {"utt2genre": [f"{r['utt']} {r['genre']}" for r in rows]}
        if attack:
            extra["utt2attack"] = [f"{r['utt']} {r['attack']}" for r in rows]
        return extra

    names = []
    for name in ("train", "enroll", "test"):
        _datadir(out, name, by_set[name], corpus, genre_attack(by_set[name], False))
        names.append(name)
    _copy_list(os.path.join(corpus, "lists", "trials"), os.path.join(out, "test"))
    corrupt_tsv = os.path.join(corpus, "meta", "corrupt.tsv")
    if os.path.exists(corrupt_tsv):
        genre = {r["utt"]: r["genre"] for r in by_set["test"]}
        rows = _read_tsv(corrupt_tsv, ["utt", "spk", "corruption", "samples", "path"])
        _datadir(out, "test_corrupt", rows, corpus,
                 {"utt2genre": [f"{r['utt']} {genre[r['utt']]}" for r in rows],
                  "utt2corruption": [f"{r['utt']} {r['corruption']}" for r in rows]})
        _copy_list(os.path.join(corpus, "lists", "trials"), os.path.join(out, "test_corrupt"))
        names.append("test_corrupt")

    for part, bona_set in (("train", "train"), ("dev", "test"), ("eval", "test")):
        spoofs = by_set[f"spoof_{part}"]
        spks = {r["spk"] for r in spoofs}
        bona = sorted((r for r in by_set[bona_set] if r["spk"] in spks), key=lambda r: r["utt"])
        if part == "train":
            seen: dict[str, int] = defaultdict(int)
            keep = []
            for r in bona:
                seen[r["spk"]] += 1
                if seen[r["spk"]] <= BONAFIDE_PER_TRAIN_SPK:
                    keep.append(r)
            bona = keep
        rows = bona + spoofs
        if spoofs:
            _datadir(out, f"spoof_{part}", rows, corpus, genre_attack(rows, True))
            names.append(f"spoof_{part}")
        if part != "train":
            _copy_list(os.path.join(corpus, "lists", f"sasv_{part}.trials"), os.path.join(out, f"sasv_{part}"))

    mixes = _read_tsv(os.path.join(corpus, "meta", "mixtures.tsv"),
                      ["utt", "set", "spk1", "spk2", "samples", "overlap", "sir_db", "path", "s1_path",
                       "s2_path"])
    for name in ("mix_train", "mix_test"):
        rows = [dict(m, spk=m["utt"]) for m in mixes if m["set"] == name]
        if not rows:
            continue
        extra = {
            "utt2spks": [f"{m['utt']} {m['spk1']} {m['spk2']}" for m in rows],
            "utt2overlap": [f"{m['utt']} {m['overlap']}" for m in rows],
            "utt2sir": [f"{m['utt']} {m['sir_db']}" for m in rows],
            "utt2sources": [f"{m['utt']} {os.path.join(corpus, m['s1_path'])} "
                            f"{os.path.join(corpus, m['s2_path'])}" for m in rows],
            "rttm": [f"SPEAKER {m['utt']} 1 {float(m[f'{s}_start']):.3f} "
                     f"{float(m[f'{s}_end']) - float(m[f'{s}_start']):.3f} <NA> <NA> {m[spk]} <NA> <NA>"
                     for m in rows for s, spk in (("s1", "spk1"), ("s2", "spk2"))],
        }
        _datadir(out, name, rows, corpus, extra)
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m local.synthetic.datadirs <corpus-dir> <data-dir>", file=sys.stderr)
        return 1
    try:
        names = prepare(argv[0], argv[1])
    except (OSError, FormatError) as e:
        print(f"datadirs: error: {e}", file=sys.stderr)
        return 1
    print(" ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
