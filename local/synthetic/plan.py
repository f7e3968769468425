"""The corpus plan: every speaker, session, utterance, spoof, mixture and trial, drawn up front.

All plan-level randomness comes from one generator seeded by (seed, 0) in a fixed order; each
audio file is then rendered from its own generator seeded by (seed, stream, index), so rendering
can run in any order on any number of processes and still give the same bytes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from local.synthetic.attacks import EVAL_ATTACKS, TRAIN_ATTACKS
from local.synthetic.augsets import AugFile, aug_files
from local.synthetic.corrupt import KINDS as CORRUPTIONS
from local.synthetic.genres import GENRE_NAMES
from local.synthetic.mixtures import place
from local.synthetic.sessions import Session, SessionSpread, sample_session
from local.synthetic.speak import n_samples
from local.synthetic.voices import SR, Voice, sample_voice

STREAMS = {"plan": 0, "utt": 1, "spoof": 2, "mix": 3, "aug": 4, "corrupt": 5}
GENRE_P = {"speech": 0.4, "interview": 0.25, "vlog": 0.2, "singing": 0.15}


@dataclass(frozen=True)
class CorpusOptions:
    seed: int = 7
    num_train_spk: int = 80
    num_eval_spk: int = 30
    utts_per_spk: int = 12          # train speakers
    enroll_utts: int = 3            # eval speakers: enrollment utterances (one session)
    test_utts: int = 10             # eval speakers: test utterances (other sessions)
    min_dur: float = 2.0
    max_dur: float = 4.0
    spoof_per_attack: int = 5       # spoofs per eval speaker and attack (spoof_dev, spoof_eval)
    spoof_train_per_attack: int = 4  # spoofs per spoof_train speaker and attack
    sasv_nontargets_per_spk: int = 8  # SASV lists: nontargets kept per enrolled speaker (0: all)
    num_mix_train: int = 100
    num_mix_test: int = 40
    speaker_spread: float = 1.0     # between-speaker variability scale
    session_spread: float = 1.0     # between-session variability scale
    augsets: bool = True
    corrupt_test: bool = True       # wav_corrupt/: the test set under held-out noises and rooms

    def check(self) -> None:
        if self.num_train_spk < 2 or self.num_eval_spk < 4:
            raise ValueError("need at least 2 train and 4 eval speakers (--num-train-spk, --num-eval-spk)")
        if min(self.utts_per_spk, self.enroll_utts, self.test_utts) < 1:
            raise ValueError("--utts-per-spk, --enroll-utts and --test-utts must be >= 1")
        if min(self.spoof_per_attack, self.spoof_train_per_attack, self.sasv_nontargets_per_spk) < 0:
            raise ValueError("--spoof-per-attack, --spoof-train-per-attack and --sasv-nontargets-per-spk "
                             "must be >= 0")
        if not 0.2 <= self.min_dur <= self.max_dur:
            raise ValueError(f"need 0.2 <= --min-dur <= --max-dur, got {self.min_dur} and {self.max_dur}")


def session_spread(scale: float) -> SessionSpread:
    """Scale 1 is the default corpus (tuned so the MFCC-statistics baseline lands near 20% EER)."""
    return SessionSpread(eq_db=2.0 * scale, p_band=min(0.08 * scale, 1.0), p_reverb=min(0.2 * scale, 1.0),
                         snr=(max(30.0 - 10.0 * scale, 0.0), 30.0), f0=0.024 * scale, tilt=0.08 * scale)


@dataclass
class Speaker:
    spk: str
    split: str                       # train | eval
    voice: Voice
    sessions: list[Session] = field(default_factory=list)


@dataclass(frozen=True)
class UttJob:
    index: int
    utt: str
    spk: str
    set: str                         # train | enroll | test
    session: int
    voice: Voice
    sess: Session
    n: int
    path: str
    stream: str = "utt"


@dataclass(frozen=True)
class SpoofJob:
    index: int
    utt: str
    spk: str                         # claimed (target) speaker
    set: str                         # spoof_train | spoof_dev | spoof_eval
    attack: str
    voice: Voice
    sess: Session                    # the channel it is played/recorded through
    n: int
    path: str
    stream: str = "spoof"


@dataclass(frozen=True)
class MixJob:
    index: int
    utt: str
    set: str                         # mix_train | mix_test
    spks: tuple[str, str]
    voices: tuple[Voice, Voice]
    ns: tuple[int, int]
    ratio: float
    sir_db: float
    sess: Session
    paths: tuple[str, str, str]      # mixture, source 1, source 2
    stream: str = "mix"

    @property
    def placement(self):  # noqa: ANN201 (Placement; computed from lengths, not rendered audio)
        return place(self.ns[0], self.ns[1], self.ratio)


@dataclass(frozen=True)
class AugJob:
    index: int
    file: AugFile
    path: str
    stream: str = "aug"


@dataclass(frozen=True)
class CorruptJob:
    index: int
    clean: UttJob                    # the test utterance, rendered again from its own generator
    kind: str                        # one of corrupt.KINDS
    seed: int                        # the corpus seed (the clean rendering needs it)
    path: str
    stream: str = "corrupt"


@dataclass
class Plan:
    opts: CorpusOptions
    speakers: list[Speaker]
    utts: list[UttJob]
    spoofs: list[SpoofJob]
    mixes: list[MixJob]
    augs: list[AugJob]
    trials: dict[str, list[tuple[str, str, str]]]
    corrupts: list[CorruptJob] = field(default_factory=list)

    def jobs(self) -> list:
        return [*self.utts, *self.spoofs, *self.mixes, *self.augs, *self.corrupts]


def _dur(rng: np.random.Generator, o: CorpusOptions) -> int:
    return n_samples(float(rng.uniform(o.min_dur, o.max_dur)))


def _genre(rng: np.random.Generator) -> str:
    return str(rng.choice(GENRE_NAMES, p=[GENRE_P[g] for g in GENRE_NAMES]))


def make_plan(o: CorpusOptions) -> Plan:
    o.check()
    rng = np.random.default_rng([o.seed, STREAMS["plan"]])
    spread = session_spread(o.session_spread)
    n_spk = o.num_train_spk + o.num_eval_spk
    speakers = []
    for i in range(n_spk):
        split = "train" if i < o.num_train_spk else "eval"
        sp = Speaker(f"sp{i + 1:04d}", split, sample_voice(rng, "mf"[i % 2], o.speaker_spread))
        if split == "train":
            genres = [_genre(rng) for _ in range(int(rng.integers(2, 5)))]
        else:  # session 0 is the enrollment session; tests come from three others
            genres = [str(rng.choice(["speech", "interview"], p=[0.7, 0.3]))] + [_genre(rng) for _ in range(3)]
        sp.sessions = [sample_session(rng, g, spread) for g in genres]
        speakers.append(sp)

    utts: list[UttJob] = []

    def add_utt(sp: Speaker, s: int, k: int, set_: str) -> None:
        g = sp.sessions[s].genre
        utt = f"{sp.spk}-{g}-{s:02d}-{k:03d}"
        utts.append(UttJob(len(utts), utt, sp.spk, set_, s, sp.voice, sp.sessions[s], _dur(rng, o),
                           f"wav/{sp.spk}/{utt}.wav"))

    for sp in speakers:
        if sp.split == "train":
            order = rng.permutation(o.utts_per_spk) % len(sp.sessions)
            for k, s in enumerate(order):
                add_utt(sp, int(s), k, "train")
        else:
            for k in range(o.enroll_utts):
                add_utt(sp, 0, k, "enroll")
            for k in range(o.test_utts):
                add_utt(sp, 1 + k % 3, o.enroll_utts + k, "test")

    # Spoofs: half the train speakers with the train attacks; eval speakers split in a dev half
    # (train attacks) and an eval half (unseen attacks). They come from their own generator, so the
    # spoof options change nothing else in the corpus.
    train_spk = [sp for sp in speakers if sp.split == "train"]
    eval_spk = [sp for sp in speakers if sp.split == "eval"]
    n_dev = len(eval_spk) // 2
    srng = np.random.default_rng([o.seed, STREAMS["plan"], 1])
    groups = [("spoof_train", train_spk[::2], TRAIN_ATTACKS, o.spoof_train_per_attack),
              ("spoof_dev", eval_spk[:n_dev], TRAIN_ATTACKS, o.spoof_per_attack),
              ("spoof_eval", eval_spk[n_dev:], EVAL_ATTACKS, o.spoof_per_attack)]
    spoofs: list[SpoofJob] = []
    for set_, spks, attacks, per in groups:
        for sp in spks:
            for a in attacks:
                for k in range(per):
                    utt = f"{sp.spk}-spoof-{a}-{k:03d}"
                    sess = sample_session(srng, "speech", spread)
                    spoofs.append(SpoofJob(len(spoofs), utt, sp.spk, set_, a, sp.voice, sess, _dur(srng, o),
                                           f"spoof/{a}/{utt}.wav"))

    mixes: list[MixJob] = []
    for set_, spks, count in (("mix_train", train_spk, o.num_mix_train), ("mix_test", eval_spk, o.num_mix_test)):
        for k in range(count):
            a, b = rng.choice(len(spks), 2, replace=False)
            sa, sb = spks[int(a)], spks[int(b)]
            sess = replace(sample_session(rng, "speech", spread), snr_db=float(rng.uniform(20, 35)))
            utt = f"{set_.replace('_', '-')}-{k + 1:04d}"
            d = f"mix/{set_}/{utt}"
            mixes.append(MixJob(len(mixes), utt, set_, (sa.spk, sb.spk), (sa.voice, sb.voice),
                                (_dur(rng, o), _dur(rng, o)), float(rng.uniform(0.1, 0.8)),
                                float(rng.uniform(-5, 5)), sess, (f"{d}.wav", f"{d}-s1.wav", f"{d}-s2.wav")))

    augs = [AugJob(i, f, f.rel) for i, f in enumerate(aug_files())] if o.augsets else []
    # Every kind of corruption in turn, so each test speaker meets each kind twice (10 test utts).
    tests = [u for u in utts if u.set == "test"] if o.corrupt_test else []
    corrupts = [CorruptJob(i, u, CORRUPTIONS[i % len(CORRUPTIONS)], o.seed, f"wav_corrupt/{u.spk}/{u.utt}.wav")
                for i, u in enumerate(tests)]
    trials = make_trials(utts, spoofs, n_dev, eval_spk, o.sasv_nontargets_per_spk,
                         np.random.default_rng([o.seed, STREAMS["plan"], 2]))
    return Plan(o, speakers, utts, spoofs, mixes, augs, trials, corrupts)


def make_trials(utts: list[UttJob], spoofs: list[SpoofJob], n_dev: int, eval_spk: list[Speaker],
                nontargets_per_spk: int, rng: np.random.Generator) -> dict[str, list[tuple[str, str, str]]]:
    """ASV trials (every enrolled speaker against every test utterance) and SASV dev/eval trials.

    The SASV lists keep every target and spoof trial but only `nontargets_per_spk` random nontargets
    per enrolled speaker (0: all), so that spoofs are a large share of the negatives, as in ASVspoof
    2019 LA (66% on eval); with all nontargets even a perfect CM could hardly move the SASV-EER.
    """
    tests = [u for u in utts if u.set == "test"]
    enrolled = sorted({u.spk for u in utts if u.set == "enroll"})
    trials = {"trials": [(e, u.utt, "target" if u.spk == e else "nontarget") for e in enrolled for u in tests]}
    halves = {"sasv_dev": {sp.spk for sp in eval_spk[:n_dev]}, "sasv_eval": {sp.spk for sp in eval_spk[n_dev:]}}
    for name, spks in halves.items():
        cm_set = "spoof_" + name.split("_")[1]
        rows = []
        for e in sorted(spks):
            rows += [(e, u.utt, "target") for u in tests if u.spk == e]
            non = [u.utt for u in tests if u.spk in spks and u.spk != e]
            if 0 < nontargets_per_spk < len(non):
                non = [non[i] for i in sorted(rng.choice(len(non), nontargets_per_spk, replace=False))]
            rows += [(e, t, "nontarget") for t in non]
        rows += [(s.spk, s.utt, "spoof") for s in spoofs if s.set == cm_set]
        trials[name] = rows
    return {k: sorted(v) for k, v in trials.items()}


def options_dict(o: CorpusOptions) -> dict:
    return asdict(o)


def seconds(n: int) -> float:
    return n / SR
