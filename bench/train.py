"""Training throughput: samples/s of a full training step (forward, AAM loss, backward, SGD step).

  . ./path.sh && python bench/train.py [--threads 2] [--batch-size 8] [--steps 4]
  . ./path.sh && python bench/train.py --device cuda [--amp bf16] [--batch-size 128] [--workers N]

Models at full size with 80-dim input and 200-frame (2 s) chunks, AAM-softmax over 5,994 classes
(VoxCeleb2 dev), through the trainer's SpeakerNet (so AMP and the float32 loss are what training
runs). CPU: median step time over --steps timed steps after 2 warm-up steps.
--device cuda adds the data loader's maximum rate: a synthetic raw-wave data dir (random 3-6 s
utterances, MUSAN/RIR-layout noise and RIR dirs) read through build_train_data in wave mode with
augmentation and fbank in the CPU workers, and with fbank on the GPU (fbank_on: device), timed
without the model. The loader should deliver >= 3x what the model consumes.

  . ./path.sh && python bench/train.py --wespeaker /path/to/wespeaker [--threads 2] [--loader-workers 0]

--wespeaker <checkout>: WeSpeaker's own ResNet34 and ECAPA_TDNN_c512 with its ArcMarginProduct (m 0.2, s 32)
and cross-entropy, built from that checkout at run time (bench/wespeaker_ref.py), against ours built from
the same WeSpeaker config (pytorch.interchange.wespeaker), same batch, chunk and loss; blocks of steps
alternate WeSpeaker / ours. --loader-workers N (CPU too): the wave-mode loader's rate with MUSAN/RIR-layout
noise, music, babble, reverb and speed perturbation; N = 0 runs it in the main process, i.e. the rate
of one worker.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from common.cli import add_bool
from pytorch.interchange import wespeaker as ws_interchange
from pytorch.losses import build_loss
from pytorch.models import build_model
from pytorch.training.loop import AMP_DTYPES, SpeakerNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wespeaker_ref import register_bare  # noqa: E402  (bench/ is not a package)

MODELS = {
    "SE-ResNet-34 (CNSRC)": {"name": "resnet34se", "feat_dim": 80},
    "ECAPA C=512": {"name": "ecapa_tdnn", "feat_dim": 80, "channels": 512},
    "ECAPA C=1024": {"name": "ecapa_tdnn", "feat_dim": 80, "channels": 1024},
}
NUM_CLASSES = 5994
FRAMES = 200
WS_MODELS = {  # label: (WeSpeaker module, name, model_args)
    "ResNet34": ("resnet", "ResNet34", {"feat_dim": 80, "embed_dim": 256}),
    "ECAPA C=512": ("ecapa_tdnn", "ECAPA_TDNN_c512", {"feat_dim": 80, "embed_dim": 192}),
}


def _step_times(step, steps: int) -> list[float]:  # noqa: ANN001
    times = []
    for i in range(steps + 2):  # 2 warm-up steps
        t = time.perf_counter()
        step()
        if i >= 2:
            times.append(time.perf_counter() - t)
    return times


def _wespeaker_step(models, name: str, args: dict, proj, x: torch.Tensor, y: torch.Tensor):  # noqa: ANN001, ANN202
    """WeSpeaker's training step (wespeaker/utils/executor.py): model, ArcMarginProduct, cross-entropy, SGD."""
    torch.manual_seed(0)
    model = getattr(models, name)(**args).train()
    head = proj.ArcMarginProduct(args["embed_dim"], NUM_CLASSES, scale=32.0, margin=0.2)
    ce = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.01, momentum=0.9, nesterov=True)

    def step() -> None:
        out = model(x)
        loss = ce(head(out[-1] if isinstance(out, tuple) else out, y), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step, sum(p.numel() for p in model.parameters())


def _our_step(name: str, args: dict, x: torch.Tensor, y: torch.Tensor):  # noqa: ANN202
    """Our model for the same WeSpeaker config, through the trainer's SpeakerNet with AAM-softmax."""
    sections, _, _ = ws_interchange.convert({"model": name, "model_args": args}, "bench")
    torch.manual_seed(0)
    model = build_model(sections["model"])
    loss = build_loss({"name": "aam_softmax", "margin": 0.2, "scale": 32.0}, model.embed_dim, NUM_CLASSES)
    net = SpeakerNet(model, loss, AMP_DTYPES["none"]).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step() -> None:
        value, _ = net(x, y)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    return step


def wespeaker_vs_ours(checkout: str, batch: int, steps: int, rounds: int) -> None:
    """Median step time of WeSpeaker's model + ArcMarginProduct + CE and of ours (same config), alternating."""
    import importlib
    register_bare(checkout)
    proj = importlib.import_module("wespeaker.models.projections")
    x = torch.randn(batch, FRAMES, 80)
    y = torch.randint(0, NUM_CLASSES, (batch,))
    print(f"\n# side by side with WeSpeaker ({checkout}), batch {batch} x {FRAMES} frames, {steps} timed steps "
          f"per block, {rounds} alternating blocks; load average {os.getloadavg()[0]:.1f}")
    print("| model | WeSpeaker samples/s | asvlab samples/s | ratio | runs (s/step, WeSpeaker / asvlab) |")
    print("|---|---|---|---|---|")
    for label, (module, name, args) in WS_MODELS.items():
        ws_step, n_params = _wespeaker_step(importlib.import_module(f"wespeaker.models.{module}"), name, args, proj,
                                            x, y)
        our_step = _our_step(name, args, x, y)
        t_ws, t_ours = [], []
        for _ in range(rounds):
            t_ws += _step_times(ws_step, steps)
            t_ours += _step_times(our_step, steps)
        m_ws, m_ours = sorted(t_ws)[len(t_ws) // 2], sorted(t_ours)[len(t_ours) // 2]
        runs = " ".join(f"{t:.2f}" for t in t_ws) + " / " + " ".join(f"{t:.2f}" for t in t_ours)
        print(f"| {label} ({n_params / 1e6:.2f}M) | {batch / m_ws:.1f} "
              f"| {batch / m_ours:.1f} | {m_ws / m_ours:.2f}x | {runs} |", flush=True)


def model_rate(cfg: dict, batch: int, steps: int, device: torch.device, amp: str) -> tuple[float, int]:
    """(samples/s, params) of training steps on random features."""
    torch.manual_seed(0)
    model = build_model(cfg)
    loss = build_loss({"name": "aam_softmax", "margin": 0.2, "scale": 32.0}, model.embed_dim, NUM_CLASSES)
    net = SpeakerNet(model, loss, AMP_DTYPES[amp]).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    x = torch.randn(batch, FRAMES, 80, device=device)
    y = torch.randint(0, NUM_CLASSES, (batch,), device=device)
    times = []
    for i in range(steps + 2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        value, _ = net(x, y)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(value).backward()
            scaler.step(opt)
            scaler.update()
        else:
            value.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in model.parameters())
    return batch / sorted(times)[len(times) // 2], params


def _write_wave_dir(path: Path, n: int, rng: np.random.Generator, spk: int, min_s: float,
                    max_s: float) -> None:
    path.mkdir(parents=True)
    scp, u2s, dur = [], [], []
    for i in range(n):
        utt = f"s{i % spk:03d}-u{i:05d}"
        sec = float(rng.uniform(min_s, max_s))
        wav = (rng.standard_normal(int(sec * 16000)) * 3000).astype(np.int16)
        sf.write(path / f"{utt}.wav", wav, 16000)
        scp.append(f"{utt} {path / utt}.wav\n")
        u2s.append(f"{utt} s{i % spk:03d}\n")
        dur.append(f"{utt} {len(wav) / 16000:.3f}\n")
    (path / "wav.scp").write_text("".join(sorted(scp)))
    (path / "utt2spk").write_text("".join(sorted(u2s)))
    (path / "utt2dur").write_text("".join(sorted(dur)))
    spk2utt: dict[str, list[str]] = {}
    for line in sorted(u2s):
        u, s = line.split()
        spk2utt.setdefault(s, []).append(u)
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))


def loader_config(train: Path, aug_root: Path, batch: int, workers: int, fbank_on: str = "cpu",
                  speed: float = 0.0) -> dict:
    """The wave-mode training config of the loader benchmarks: noise, music, babble and reverb at 0.15
    each from the MUSAN/RIR-layout dirs under `aug_root`, speed 0.9/1.1 with probability `speed`."""
    return {"data": {"train": str(train), "mode": "wave", "num_frames": FRAMES, "fbank_on": fbank_on},
            "features": {"name": "fbank", "num_mel_bins": 80, "dither": 1.0},
            "augment": {"noise": {"data": str(aug_root / "noise"), "prob": 0.15},
                        "music": {"data": str(aug_root / "music"), "prob": 0.15},
                        "babble": {"data": str(aug_root / "speech"), "prob": 0.15},
                        "reverb": {"data": str(aug_root / "rirs"), "prob": 0.15},
                        "speed": {"prob": speed, "speeds": [0.9, 1.1]}},
            "train": {"batch_size": batch, "num_workers": workers, "seed": 0}}


def write_aug_dirs(root: Path, rng: np.random.Generator) -> None:
    for name in ("noise", "music", "speech", "rirs"):
        _write_wave_dir(root / name, 20, rng, 5, 0.3 if name == "rirs" else 5.0, 0.5 if name == "rirs" else 8.0)


def time_loader(cfg: dict, device: torch.device) -> float:
    """samples/s that build_train_data's loader delivers to `device` over one epoch, first batch excluded."""
    from pytorch.data.builder import build_train_data
    data = build_train_data(cfg)
    data.set_epoch(1)
    it = iter(data.loader)
    data.to_features(next(it), device)        # worker start-up is not throughput
    if device.type == "cuda":
        torch.cuda.synchronize()
    t, got = time.perf_counter(), 0
    for batch_data in it:
        feats, _ = data.to_features(batch_data, device)
        got += feats.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return got / (time.perf_counter() - t)


def loader_rate(batch: int, workers: int, fbank_on: str, device: torch.device, batches: int,
                speed: float = 0.0) -> float:
    """samples/s that build_train_data's loader (wave mode, augmentation, fbank) delivers to the device."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_wave_dir(root / "train", batch * (batches + 2), rng, 100, 3.0, 6.0)
        write_aug_dirs(root, rng)
        return time_loader(loader_config(root / "train", root, batch, workers, fbank_on, speed), device)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (CPU)")
    ap.add_argument("--batch-size", type=int, default=None, help="default 8 on CPU, 128 on GPU")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 4 on CPU, 20 on GPU)")
    ap.add_argument("--amp", default="bf16", choices=tuple(AMP_DTYPES), help="GPU only")
    ap.add_argument("--workers", type=int, default=None, help="loader workers (default: CPU count)")
    ap.add_argument("--loader-batches", type=int, default=30)
    ap.add_argument("--wespeaker", default=None, help="a WeSpeaker checkout: its training step side by side")
    ap.add_argument("--rounds", type=int, default=2, help="alternating WeSpeaker / ours blocks (--wespeaker)")
    ap.add_argument("--loader-workers", type=int, default=None,
                    help="CPU: also time the wave-mode loader with this many workers (0: in the main process)")
    add_bool(ap, "--skip-models", False, "only the side-by-side and loader parts")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("bench/train.py: error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 1
    device = torch.device("cuda" if cuda else "cpu")
    batch = args.batch_size or (128 if cuda else 8)
    steps = args.steps or (20 if cuda else 4)
    amp = args.amp if cuda else "none"
    where = torch.cuda.get_device_name(0) if cuda else f"CPU, {args.threads} threads"
    print(f"# training step throughput on {where}; torch {torch.__version__}; batch {batch} x {FRAMES} "
          f"frames x 80; AAM over {NUM_CLASSES} classes; amp {amp}")
    print("| model | params | samples/s | x real time (2 s per sample) |")
    print("|---|---|---|---|")
    rates = {}
    for label, cfg in ({} if args.skip_models else MODELS).items():
        rate, params = model_rate(cfg, batch, steps, device, amp)
        rates[label] = rate
        print(f"| {label} | {params / 1e6:.2f}M | {rate:.1f} | {2 * rate:.0f} |", flush=True)
    if args.wespeaker and not cuda:
        wespeaker_vs_ours(args.wespeaker, batch, steps, args.rounds)
    if args.loader_workers is not None and not cuda:
        w = args.loader_workers
        r = loader_rate(batch, w, "cpu", device, args.loader_batches, speed=2 / 3)
        print(f"\n# wave-mode loader on CPU, {w} workers ({'the main process' if w == 0 else 'processes'}), "
              f"batch {batch}: noise/music/babble/reverb 0.15 each, speed 0.9/1.1 with prob 2/3, fbank 80: "
              f"{r:.1f} utterances/s ({r / max(w, 1):.1f} per worker); 1,000 two-second chunks/s need about "
              f"{1000 / (r / max(w, 1)):.0f} such workers", flush=True)
    if cuda:
        workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
        print(f"\n# data loader, wave mode + augmentation (noise/music/babble/reverb 0.15 each), "
              f"{workers} workers, batch {batch}")
        print("| fbank on | samples/s | / fastest model consumption |")
        print("|---|---|---|")
        fastest = max(rates.values())
        for fbank_on in ("cpu", "device"):
            r = loader_rate(batch, workers, fbank_on, device, args.loader_batches)
            print(f"| {fbank_on} | {r:.0f} | {r / fastest:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
