"""Foreign checkpoints (../shared/data/pretrained/foreign, built with WeSpeaker's and ASV-Subtools' own
model code) import through the CLI, and our embeddings on parity.npz's `feats` equal the stored
reference `embeddings` in eager mode, extraction mode (BN folded, frozen TorchScript) and the exported
TorchScript file.

Tolerance: 1e-5 max abs, relative to the largest reference value when that exceeds 1 (Subtools' `near`
embedding comes after a BatchNorm without affine, with values up to ~23: its own float32 rounding
against a float64 recomputation is ~3e-5 there, so an absolute 1e-5 would test the reference's
arithmetic, not the import; a wrong convention, e.g. the 1e-7 variance floor, is off by 1.6e-3)."""
from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pytorch.bin import import_model
from pytorch.config import load_config
from pytorch.export import torchscript_bytes
from pytorch.inference import prepare_for_inference
from pytorch.models import build_model
from pytorch.training.checkpoint import load_checkpoint, load_model

FOREIGN = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "pretrained" / "foreign"
# fixture dir -> (toolkit, checkpoint file, has a config)
FIXTURES = {"voxceleb_resnet34": ("wespeaker", "avg_model.pt", True),
            "voxceleb_ECAPA512": ("wespeaker", "avg_model.pt", True),
            "cnsrc_se_resnet34": ("subtools", "epoch_6.params", False)}

pytestmark = pytest.mark.skipif(not FOREIGN.is_dir(), reason=f"foreign-checkpoint fixtures absent: {FOREIGN}")


def tolerance(ref: np.ndarray) -> float:
    return 1e-5 * max(1.0, float(np.abs(ref).max()))


def import_args(name: str, exp: Path) -> list[str]:
    toolkit, ckpt, has_cfg = FIXTURES[name]
    args = ["--from", toolkit, "--checkpoint", str(FOREIGN / name / ckpt), "--exp", str(exp)]
    return args + (["--config", str(FOREIGN / name / "config.yaml")] if has_cfg else [])


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    torch.set_num_threads(1)
    out = {}
    for name in FIXTURES:
        exp = tmp_path_factory.mktemp(name)
        assert import_model.main(import_args(name, exp)) == 0
        out[name] = exp
    return out


def _parity(name: str) -> tuple[torch.Tensor, np.ndarray]:
    z = np.load(FOREIGN / name / "parity.npz")
    return torch.from_numpy(z["feats"]), z["embeddings"]


@pytest.mark.parametrize("name", FIXTURES)
def test_embeddings_match_the_reference(name, imported, capsys):
    feats, ref = _parity(name)
    model = load_model(imported[name])
    with torch.no_grad():
        eager = model(feats).numpy()
        extraction = prepare_for_inference(model)(feats).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)    # torch.jit.load is deprecated in 2.x
            scripted = torch.jit.load(io.BytesIO(torchscript_bytes(model)))(feats).numpy()
    diffs = {k: float(np.abs(v - ref).max()) for k, v in
             (("eager", eager), ("extraction", extraction), ("torchscript", scripted))}
    with capsys.disabled():
        print(f"\n{name}: max |ours - reference| " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
              + f" (max |reference| {np.abs(ref).max():.2f})")
    assert all(v <= tolerance(ref) for v in diffs.values()), diffs


def test_the_tolerance_catches_a_wrong_convention(imported):
    """The old variance floor (1e-7 instead of Subtools' 1e-10) fails the parity check."""
    name = "cnsrc_se_resnet34"
    feats, ref = _parity(name)
    cfg = copy.deepcopy(load_config(imported[name] / "config.yaml")["model"])
    cfg["pooling"]["std"]["floor"] = 1e-7
    model = build_model(cfg)
    model.load_state_dict(load_checkpoint(imported[name] / "models" / "avg.pt")["model"])
    with torch.no_grad():
        assert np.abs(model.eval()(feats).numpy() - ref).max() > tolerance(ref)


def test_exp_dir_is_a_normal_one(imported):
    exp = imported["voxceleb_resnet34"]
    cfg = load_config(exp / "config.yaml")
    assert cfg["features"]["window_type"] == "hamming" and cfg["data"]["cmn"] is True
    assert cfg["model"]["pooling"] == {"name": "tsp", "std": {"unbiased": True, "floor": 1e-7, "floor_mode": "add"}}
    state = torch.load(exp / "models" / "avg.pt", weights_only=True)
    assert not any(k.startswith("projection") for k in state["model"])
    sub = load_config(imported["cnsrc_se_resnet34"] / "config.yaml")
    assert sub["model"]["feat_dim"] == 81 and sub["features"]["use_energy"] is True


def test_refuses_to_overwrite_an_imported_model(imported, capsys):
    assert import_model.main(import_args("voxceleb_resnet34", imported["voxceleb_resnet34"])) == 1
    assert "exists" in capsys.readouterr().err
