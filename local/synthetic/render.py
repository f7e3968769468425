"""Render one planned job to 16 kHz 16-bit WAV, from its own (seed, stream, index) generator."""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import soundfile as sf

from common.io import atomic_write
from local.synthetic.attacks import ATTACKS
from local.synthetic.augsets import render_aug
from local.synthetic.corrupt import corrupt
from local.synthetic.genres import GENRES
from local.synthetic.mixtures import mix
from local.synthetic.noises import NOISES
from local.synthetic.plan import STREAMS, AugJob, CorruptJob, MixJob, SpoofJob, UttJob
from local.synthetic.sessions import record
from local.synthetic.speak import n_samples, speak
from local.synthetic.voices import HOP, SR, sample_voice


def write_wav(path: str, x: np.ndarray) -> None:
    """PCM-16 WAV written under a temp name and renamed, so a present file is a complete one."""
    with atomic_write(path, "wb") as f:
        sf.write(f, x, SR, subtype="PCM_16", format="WAV")


def render_utt(job: UttJob, rng: np.random.Generator) -> dict[str, np.ndarray]:
    s = job.sess
    g = GENRES[s.genre]
    n = job.n
    lead = 0
    if g.backing == "interviewer" and n >= int(1.5 * SR):
        # The segment opens with the end of the interviewer's question, then a pause.
        lead = min(n_samples(float(rng.uniform(0.4, 0.9))), n // 3 // HOP * HOP)
        gap = int(rng.uniform(0.15, 0.35) * SR) // HOP * HOP
        n_main = n - lead - gap
    else:
        n_main = n
    x = speak(job.voice, s.genre, rng, n_main, rate=s.rate, f0_shift=s.f0_shift, tilt_delta=s.tilt_delta).wave
    backing = None
    if g.backing == "music":
        backing = NOISES["music"](rng, n)
    elif lead:
        other = speak(sample_voice(rng), "speech", rng, lead).wave * 10 ** (rng.uniform(-15, -8) / 20)
        x = np.concatenate([other, np.zeros(n - lead - n_main), x])
    y = record(x, s, rng, backing, backing_snr_db=float(rng.uniform(12, 25)))
    return {job.path: y}


def render_spoof(job: SpoofJob, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x = ATTACKS[job.attack](job.voice, rng, job.n)
    return {job.path: record(x, job.sess, rng)}


def render_mix(job: MixJob, rng: np.random.Generator) -> dict[str, np.ndarray]:
    a = speak(job.voices[0], "speech", rng, job.ns[0]).wave
    b = speak(job.voices[1], "speech", rng, job.ns[1]).wave
    m, s1, s2, _ = mix(a, b, job.ratio, job.sir_db, job.sess, rng)
    return dict(zip(job.paths, (m, s1, s2)))


def render_augfile(job: AugJob, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {job.path: render_aug(job.file, rng)}


def render_corrupt(job: CorruptJob, rng: np.random.Generator) -> dict[str, np.ndarray]:
    clean = render_utt(job.clean, np.random.default_rng([job.seed, STREAMS["utt"], job.clean.index]))
    return {job.path: corrupt(clean[job.clean.path], job.kind, rng)}


RENDERERS: dict[type, Callable[[object, np.random.Generator], dict[str, np.ndarray]]] = {
    UttJob: render_utt, SpoofJob: render_spoof, MixJob: render_mix, AugJob: render_augfile,
    CorruptJob: render_corrupt,
}


def paths_of(job: object) -> list[str]:
    return list(job.paths) if isinstance(job, MixJob) else [job.path]  # type: ignore[attr-defined]


def run_job(args: tuple[object, int, str]) -> str:
    """Render `job` under `root` unless all its files exist (a rerun resumes); returns its first path."""
    job, seed, root = args
    paths = paths_of(job)
    if all(os.path.exists(os.path.join(root, p)) for p in paths):
        return paths[0]
    rng = np.random.default_rng([seed, STREAMS[job.stream], job.index])  # type: ignore[attr-defined]
    for rel, x in RENDERERS[type(job)](job, rng).items():
        write_wav(os.path.join(root, rel), x)
    return paths[0]
