"""Training and scoring of the embedding-level SASV fusion DNN (B2; pytorch.models.sasv_dnn).

Training trials are built from a labelled training set (a spoof data dir: utt2spk with the claimed
speaker, utt2attack), as the SASV 2022 baseline does, and resampled every epoch:
  - target:    a bona fide utterance of speaker s against an enrollment of s;
  - nontarget: the same utterance against an enrollment of another speaker;
  - spoof:     a spoofed utterance claiming s against an enrollment of s.
An enrollment is the mean ASV embedding of 1..train.max_enroll random bona fide utterances of the
speaker, never including the test utterance (scoring uses the enrollment speakers' mean embeddings,
e.g. spk_xvector.scp). The cross-entropy is weighted so that targets and non-targets count equally.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.eer import eer
from common.embeddings import load_embeddings
from common.errors import ConfigError, FormatError
from common.io import read_kv, read_table
from common.registry import build_options
from pytorch.models.sasv_dnn import build_sasv_model

log = logging.getLogger(__name__)
LABELS = ("target", "nontarget", "spoof")


@dataclass
class SasvOptimOptions:
    lr: float = 1.0e-3
    weight_decay: float = 1.0e-5


@dataclass
class SasvTrainOptions:
    epochs: int = 30
    batch_size: int = 256
    seed: int = 1
    max_enroll: int = 3               # utterances averaged into a training enrollment (1..max_enroll)

    def check(self, where: str) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.max_enroll < 1:
            raise ConfigError(f"{where}: epochs, batch_size and max_enroll must be >= 1")


class Table:
    """An embedding table: key -> row of one float32 matrix."""

    def __init__(self, path: str) -> None:
        self.path = path
        keys, self.x = load_embeddings(path)
        self.index = {k: i for i, k in enumerate(keys)}

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    def rows(self, keys: Sequence[str], what: str) -> np.ndarray:
        try:
            return self.x[[self.index[k] for k in keys]]
        except KeyError as e:
            raise FormatError(f"{self.path}: no embedding for {what} {e.args[0]!r}; extract the embeddings of "
                              "every utterance (or enrollment speaker) the trials use") from None


def read_sasv_trials(path: str) -> tuple[list[str], list[str], np.ndarray]:
    """(enroll ids, test ids, labels as strings) of an SASV trial list."""
    rows = read_table(path, 3, 3)
    for n, r in enumerate(rows, 1):
        if r[2] not in LABELS:
            raise FormatError(f"{path}:{n}: label {r[2]!r} is not target, nontarget or spoof")
    return [r[0] for r in rows], [r[1] for r in rows], np.array([r[2] for r in rows])


class TrainPairs:
    """The training set's utterances, speakers and labels, and the per-epoch trial sampler."""

    def __init__(self, data_dir: str, asv: Table, cm: Table) -> None:
        utt2spk, utt2attack = read_kv(f"{data_dir}/utt2spk"), read_kv(f"{data_dir}/utt2attack")
        self.utts = [u for u in utt2spk if u in asv.index and u in cm.index]
        if len(self.utts) < len(utt2spk):
            log.warning("%s: %d of %d utterances have no ASV or CM embedding and are left out", data_dir,
                        len(utt2spk) - len(self.utts), len(utt2spk))
        self.asv, self.cm = asv.rows(self.utts, "utterance"), cm.rows(self.utts, "utterance")
        self.spk = [utt2spk[u] for u in self.utts]
        self.bona = np.array([utt2attack.get(u) == "bonafide" for u in self.utts])
        self.by_spk: dict[str, list[int]] = defaultdict(list)
        for i, (s, b) in enumerate(zip(self.spk, self.bona)):
            if b:
                self.by_spk[s].append(i)
        if len(self.by_spk) < 2 or self.bona.all():
            raise FormatError(f"{data_dir}: B2 training needs bona fide utterances of 2+ speakers and spoofed "
                              "ones (utt2attack)")

    def _enroll(self, pool: list[int], rng: np.random.Generator, max_enroll: int) -> np.ndarray:
        k = int(rng.integers(1, min(max_enroll, len(pool)) + 1))
        return self.asv[rng.choice(pool, size=k, replace=False)].mean(axis=0)

    def sample(self, rng: np.random.Generator, max_enroll: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's trials: (enroll [N, D], test index [N], label [N] (1 target, 0 otherwise))."""
        speakers = sorted(self.by_spk)
        enroll, test, label = [], [], []
        for i, s in enumerate(self.spk):
            own = [j for j in self.by_spk.get(s, []) if j != i]
            if own:  # target (bona fide) or spoof trial against the claimed speaker
                enroll.append(self._enroll(own, rng, max_enroll))
                test.append(i)
                label.append(int(self.bona[i]))
            if self.bona[i]:  # nontarget: another speaker's enrollment
                other = speakers[int(rng.integers(len(speakers) - 1))]
                other = other if other != s else speakers[-1]
                enroll.append(self._enroll(self.by_spk[other], rng, max_enroll))
                test.append(i)
                label.append(0)
        return np.stack(enroll).astype(np.float32), np.array(test), np.array(label)


@torch.no_grad()
def score_trials(model: nn.Module, enroll: np.ndarray, test_asv: np.ndarray, test_cm: np.ndarray,
                 batch: int = 4096) -> np.ndarray:
    """SASV scores (target log-odds) of aligned trial rows."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(enroll), batch):
        parts = [torch.from_numpy(np.ascontiguousarray(a[i:i + batch])).to(device)
                 for a in (enroll, test_asv, test_cm)]
        out.append(model.score(*parts).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


@dataclass
class DevSet:
    enroll: np.ndarray
    test_asv: np.ndarray
    test_cm: np.ndarray
    is_target: np.ndarray


def load_trial_inputs(trials: str, enroll: Table, test_asv: Table, test_cm: Table
                      ) -> tuple[list[str], list[str], np.ndarray, DevSet]:
    e, t, labels = read_sasv_trials(trials)
    return e, t, labels, DevSet(enroll.rows(e, "enrollment"), test_asv.rows(t, "test utterance"),
                                test_cm.rows(t, "test utterance"), labels == "target")


def train_sasv_dnn(cfg: Mapping[str, Any], pairs: TrainPairs, dev: DevSet | None,
                   device: torch.device) -> tuple[nn.Module, dict]:
    """Train B2 on `pairs`; with `dev`, keep the epoch of the lowest dev SASV-EER, else the last."""
    for key in cfg:
        if key not in ("model", "optim", "train", "meta"):
            raise ConfigError(f"config: section {key!r} is not used by the SASV DNN; use model, optim, train")
    opt_o = build_options(SasvOptimOptions, cfg.get("optim"), "optim")
    tr = build_options(SasvTrainOptions, cfg.get("train"), "train")
    torch.manual_seed(tr.seed)
    model = build_sasv_model(cfg.get("model") or {"name": "b2"}, pairs.asv.shape[1], pairs.cm.shape[1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=opt_o.lr, weight_decay=opt_o.weight_decay)
    asv, cm = torch.from_numpy(pairs.asv).to(device), torch.from_numpy(pairs.cm).to(device)
    best: dict = {"epoch": 0, "dev_sasv_eer": None}
    best_state = None
    for epoch in range(1, tr.epochs + 1):
        t0 = time.perf_counter()
        rng = np.random.default_rng([tr.seed, epoch])
        enroll, test, label = pairs.sample(rng, tr.max_enroll)
        n_tar = max(int(label.sum()), 1)
        # index 0 non-target, 1 target (TARGET): each class weighs half of the loss
        weight = torch.tensor([len(label) / (2 * max(len(label) - n_tar, 1)), len(label) / (2 * n_tar)],
                              dtype=torch.float32, device=device)
        order = torch.from_numpy(rng.permutation(len(label)))
        enroll_t, test_t, label_t = (torch.from_numpy(enroll).to(device), torch.from_numpy(test).to(device),
                                     torch.from_numpy(label).to(device))
        model.train()
        loss_sum = 0.0
        for i in range(0, len(order), tr.batch_size):
            b = order[i:i + tr.batch_size].to(device)
            logits = model(enroll_t[b], asv[test_t[b]], cm[test_t[b]])
            loss = F.cross_entropy(logits, label_t[b], weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(b)
        msg = f"epoch {epoch}: {len(label)} trials ({n_tar} target), loss {loss_sum / len(label):.4f}"
        if dev is not None:
            dev_eer = 100.0 * eer(score_trials(model, dev.enroll, dev.test_asv, dev.test_cm), dev.is_target)
            msg += f", dev SASV-EER {dev_eer:.3f}%"
            if best["dev_sasv_eer"] is None or dev_eer <= best["dev_sasv_eer"]:
                best = {"epoch": epoch, "dev_sasv_eer": dev_eer}
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        log.info("%s (%.2f s)", msg, time.perf_counter() - t0)
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best["epoch"] = tr.epochs
    return model, best
