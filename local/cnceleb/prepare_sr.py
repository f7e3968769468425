"""Speaker retrieval (CNSRC 2022 Task 2): the asvlab SR format -> Kaldi data dirs (called by prepare_sr.sh).

Usage: python -m local.cnceleb.prepare_sr [options] <sr-dir> <data-dir> <name>
 e.g.: python -m local.cnceleb.prepare_sr data/local/sr_dev data sr_dev

asvlab SR format (one folder; audio paths relative to it, or absolute):
  enroll.lst  `<target-id> <audio path>`        one line per enrollment utterance (several per target allowed)
  pool.lst    `<pool-utt-id> <audio path>`      one line per pool utterance
  pool.key    `<pool-utt-id> <target-id|none>`  optional: the owner of each pool utterance (dev only)
Writes <data>/<name>_enroll (utt `<target>-NN`, spk = target; spk2utt = a target's enrollment) and
<data>/<name>_pool (utt = spk = pool id; utt2target from pool.key, `none` for non-targets).

local.cnceleb.convert_sr (convert_sr.sh) writes <sr-dir> from the official package layout.
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import FormatError
from local.prepcommon import check_audio, kaldi_files, write_dir

log = logging.getLogger(__name__)
_ID = re.compile(r"[^\s]+\Z")


def read_pairs(path: str, what: str, optional: bool = False) -> list[tuple[int, str, str]] | None:
    if not os.path.isfile(path):
        if optional:
            return None
        raise FileNotFoundError(f"{path}: not found; an SR folder needs enroll.lst and pool.lst ({what})")
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fld = line.split()
            if not fld:
                continue
            if len(fld) != 2:
                raise FormatError(f"{path}:{n}: expected `{what}`, got {line.strip()!r}")
            out.append((n, fld[0], fld[1]))
    if not out:
        raise FormatError(f"{path}: empty; expected `{what}` lines")
    return out


def read_sr(sr_dir: str) -> tuple[dict[str, list[str]], dict[str, str], dict[str, str] | None]:
    """targets {target: [audio paths]}, pool {utt: audio path}, key {utt: target|none} or None."""
    def audio(p: str, where: str) -> str:
        full = p if os.path.isabs(p) else os.path.join(sr_dir, p)
        if not os.path.isfile(full):
            raise FileNotFoundError(f"{where}: audio {full} not found")
        return os.path.abspath(full)
    targets: dict[str, list[str]] = {}
    path = os.path.join(sr_dir, "enroll.lst")
    for n, t, p in read_pairs(path, "<target-id> <audio path>"):
        targets.setdefault(t, []).append(audio(p, f"{path}:{n}"))
    pool: dict[str, str] = {}
    path = os.path.join(sr_dir, "pool.lst")
    for n, u, p in read_pairs(path, "<pool-utt-id> <audio path>"):
        if u in pool:
            raise FormatError(f"{path}:{n}: pool id {u} is listed twice; pool ids must be unique")
        pool[u] = audio(p, f"{path}:{n}")
    key = None
    path = os.path.join(sr_dir, "pool.key")
    rows = read_pairs(path, "<pool-utt-id> <target-id|none>", optional=True)
    if rows is not None:
        key = {}
        for n, u, t in rows:
            if u not in pool:
                raise FormatError(f"{path}:{n}: pool id {u} is not in pool.lst")
            if t != "none" and t not in targets:
                raise FormatError(f"{path}:{n}: {t} is not a target of enroll.lst; write `none` for a non-target")
            key[u] = t
        missing = sorted(set(pool) - set(key))
        if missing:
            raise FormatError(f"{path}: pool utterance {missing[0]} (and {len(missing) - 1} more) has no line; "
                              "write `<id> none` for non-targets")
    return targets, pool, key


def prepare(sr_dir: str, data: str, name: str, check: bool = True) -> None:
    targets, pool, key = read_sr(sr_dir)
    if check:
        check_audio([(p, f"{sr_dir}/enroll.lst ({t})") for t, ps in targets.items() for p in ps] +
                    [(p, f"{sr_dir}/pool.lst ({u})") for u, p in pool.items()])
    enroll = {f"{t}-{i:02d}": (t, p) for t, ps in targets.items() for i, p in enumerate(ps, 1)}
    write_dir(data, f"{name}_enroll", kaldi_files(enroll))
    pf = kaldi_files({u: (u, p) for u, p in pool.items()}, **({"target": key} if key else {}))
    write_dir(data, f"{name}_pool", pf)
    log.info("%s/%s_enroll: %d targets, %d enrollment utterances", data, name, len(targets), len(enroll))
    msg = f"{len(pool)} pool utterances"
    if key:
        c = Counter(t != "none" for t in key.values())
        msg += f", {c[True]} of the targets, {c[False]} non-target"
    log.info("%s/%s_pool: %s", data, name, msg)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("local.cnceleb.prepare_sr", __doc__)
    ap.add_argument("sr_dir", help="folder in the asvlab SR format")
    ap.add_argument("data", help="output folder for the data dirs")
    ap.add_argument("name", help="data dir prefix, e.g. sr_dev")
    add_bool(ap, "--check-audio", True, "check every audio file for truncation before writing")
    args = ap.parse_args(argv)
    setup_logging(ap.prog)

    def body() -> None:
        if not _ID.match(args.name):
            raise ValueError(f"name {args.name!r} must be one word")
        prepare(args.sr_dir, args.data, args.name, args.check_audio)
    return run_main(ap.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
