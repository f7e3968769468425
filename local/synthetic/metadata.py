"""The corpus's own metadata (what a real corpus ships next to its audio), written from the plan.

  meta/speakers.tsv   spk split gender f0 vtl tilt breath jitter shimmer n_sessions
  meta/sessions.tsv   spk session genre rt60 snr_db noise band_lo band_hi rate
  meta/utts.tsv       utt spk set session genre attack samples path   (set: train enroll test
                      spoof_train spoof_dev spoof_eval; attack: bonafide or A01..)
  meta/mixtures.tsv   utt set spk1 spk2 samples overlap sir_db s1_start s1_end s2_start s2_end
                      path s1_path s2_path   (times in seconds)
  meta/corrupt.tsv    utt spk corruption samples path   (the test set under held-out noises and rooms;
                      written when the corpus has one, see corrupt.py)
  lists/trials, lists/sasv_dev.trials, lists/sasv_eval.trials
Paths are relative to the corpus directory. Tab-separated with a header line.
"""
from __future__ import annotations

import os

from common.io import atomic_write
from local.synthetic.plan import Plan
from local.synthetic.voices import SR


def _tsv(path: str, header: list[str], rows: list[list[object]]) -> None:
    with atomic_write(path) as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r) + "\n")


def write_metadata(plan: Plan, root: str) -> None:
    meta = os.path.join(root, "meta")
    _tsv(os.path.join(meta, "speakers.tsv"),
         ["spk", "split", "gender", "f0", "vtl", "tilt", "breath", "jitter", "shimmer", "n_sessions"],
         [[s.spk, s.split, s.voice.gender, s.voice.f0, s.voice.vtl, s.voice.tilt, s.voice.breath,
           s.voice.jitter, s.voice.shimmer, len(s.sessions)] for s in plan.speakers])
    _tsv(os.path.join(meta, "sessions.tsv"),
         ["spk", "session", "genre", "rt60", "snr_db", "noise", "band_lo", "band_hi", "rate"],
         [[s.spk, k, x.genre, x.rt60, x.snr_db, x.noise, x.band[0], x.band[1], x.rate]
          for s in plan.speakers for k, x in enumerate(s.sessions)])
    rows = [[u.utt, u.spk, u.set, u.session, u.sess.genre, "bonafide", u.n, u.path] for u in plan.utts]
    rows += [[s.utt, s.spk, s.set, "-", s.sess.genre, s.attack, s.n, s.path] for s in plan.spoofs]
    _tsv(os.path.join(meta, "utts.tsv"),
         ["utt", "spk", "set", "session", "genre", "attack", "samples", "path"], rows)
    mrows = []
    for m in plan.mixes:
        p = m.placement
        mrows.append([m.utt, m.set, m.spks[0], m.spks[1], p.n, p.overlap, m.sir_db,
                      p.a[0] / SR, p.a[1] / SR, p.b[0] / SR, p.b[1] / SR, *m.paths])
    _tsv(os.path.join(meta, "mixtures.tsv"),
         ["utt", "set", "spk1", "spk2", "samples", "overlap", "sir_db", "s1_start", "s1_end", "s2_start",
          "s2_end", "path", "s1_path", "s2_path"], mrows)
    if plan.corrupts:
        _tsv(os.path.join(meta, "corrupt.tsv"), ["utt", "spk", "corruption", "samples", "path"],
             [[c.clean.utt, c.clean.spk, c.kind, c.clean.n, c.path] for c in plan.corrupts])
    for name, trials in plan.trials.items():
        with atomic_write(os.path.join(root, "lists", name if name == "trials" else f"{name}.trials")) as f:
            f.writelines(f"{e} {t} {lab}\n" for e, t, lab in trials)
    if plan.augs:
        from local.synthetic.augsets import list_files
        for rel, text in list_files().items():
            with atomic_write(os.path.join(root, rel)) as f:
                f.write(text)
