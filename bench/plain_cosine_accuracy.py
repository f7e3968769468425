"""Training accuracy of checkpoints counted on plain cosines (no margin), on fixed clean training chunks.

  . ./path.sh && python bench/plain_cosine_accuracy.py --recipe egs/mini exp/x/models/epoch_4.pt ...

The trainer's printed accuracy was once counted on the AAM logits (the target scored with cos(θ+m)), which
reads below chance while the margin warms up; this scores the checkpoints' own classifier weights on the
same 320 clean chunks (wave mode, augmentation off, no dither) so runs can be compared epoch by epoch.
egs/mini/README.md ("Augmentation") quotes its output.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F

from pytorch.data.builder import build_train_data
from pytorch.models import build_model
from pytorch.training.checkpoint import load_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default=".", help="recipe dir the configs' data paths are relative to")
    ap.add_argument("--chunks", type=int, default=320, help="number of fixed training chunks")
    ap.add_argument("checkpoints", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    paths = [os.path.abspath(p) for p in args.checkpoints]
    os.chdir(args.recipe)
    feats = labels = None
    for path in paths:
        state = load_checkpoint(path)
        cfg = state["config"]
        if feats is None:   # the first checkpoint's data config defines the chunks
            clean = dict(cfg, augment={}, features=dict(cfg["features"], dither=0.0))
            ds = build_train_data(clean).dataset
            step = max(1, len(ds) // args.chunks)   # 960 utterances: every third one
            items = [ds[(i * step, 1000 + i)] for i in range(args.chunks)]
            feats = torch.stack([it["feats"] for it in items])
            labels = torch.tensor([it["label"] for it in items])
        model = build_model(cfg["model"])
        model.load_state_dict(state["model"])
        model.eval()
        with torch.no_grad():
            cos = F.normalize(model(feats)) @ F.normalize(state["loss"]["weight"]).T
        acc = (cos.argmax(1) == labels).float().mean().item()
        tgt = cos[torch.arange(len(labels)), labels].mean().item()
        print(f"{path}: plain-cosine accuracy {100 * acc:.1f}% on {len(labels)} clean chunks, "
              f"mean target cosine {tgt:.3f}")


if __name__ == "__main__":
    main()
