"""DDP on CPU (gloo, 2 processes) updates the weights exactly like one process on the same global batch."""
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import yaml

ROOT = str(Path(__file__).resolve().parents[4])   # the repository, for the driver subprocess

# BatchNorm statistics are per process under DDP (no SyncBN), so the equivalence only holds for a
# model without BN: this one embeds with a frame-wise layer and mean+std pooling.
DRIVER = '''
import os, sys
import torch
import torch.multiprocessing as mp
import yaml
from torch import nn
from pytorch.training.distributed import cleanup, init_distributed
from pytorch.training.trainer import Trainer


class NoBN(nn.Module):
    def __init__(self, feat_dim):
        super().__init__()
        self.embed_dim = 6
        self.frame = nn.Linear(feat_dim, 16)
        self.out = nn.Linear(32, self.embed_dim)

    def forward(self, x):
        h = torch.relu(self.frame(x))
        return self.out(torch.cat([h.mean(1), h.std(1)], 1))


def build(cfg):
    return NoBN(cfg["feat_dim"])


def worker(rank, world, port, cfg, exp):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    info = init_distributed("cpu")
    try:
        Trainer(cfg, exp, info, model_builder=build).run()
    finally:
        cleanup()


if __name__ == "__main__":
    cfg = yaml.safe_load(open(sys.argv[1]))
    # fork: the children inherit the imports (spawn would re-import torch in each)
    mp.start_processes(worker, args=(2, int(sys.argv[3]), cfg, sys.argv[2]), nprocs=2, start_method="fork")
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_match_one_process(tmp_path, feats_dir, make_cfg):
    driver = tmp_path / "ddp_driver.py"
    driver.write_text(DRIVER)
    spec = importlib.util.spec_from_file_location("ddp_driver", driver)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    cfg = make_cfg(feats_dir, epochs=1)
    cfg["data"]["valid"] = str(feats_dir)
    cfg["optim"] = {"name": "sgd", "lr": 0.5}
    cfg["scheduler"] = {"name": "constant"}
    single, ddp = dict(cfg), yaml.safe_load(yaml.safe_dump(cfg))
    single["train"] = {**cfg["train"], "batch_size": 8}     # one process, global batch 8
    ddp["train"] = {**cfg["train"], "batch_size": 4}        # 2 processes x 4
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(ddp))

    proc = subprocess.run([sys.executable, str(driver), str(tmp_path / "ddp.yaml"), str(tmp_path / "ddp"),
                           str(_free_port())], capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    mod.Trainer(single, tmp_path / "single", model_builder=mod.build).run()

    a = torch.load(tmp_path / "single" / "models" / "epoch_1.pt", weights_only=False)
    b = torch.load(tmp_path / "ddp" / "models" / "epoch_1.pt", weights_only=False)
    assert a["step"] == b["step"] == 2                      # 16 utterances / global batch 8
    from pytorch.training.trainer import seed_epoch
    seed_epoch(cfg["train"]["seed"], 0, 0)
    init = mod.build({"feat_dim": 5}).state_dict()
    for part in ("model", "loss"):
        for k, v in a[part].items():
            torch.testing.assert_close(b[part][k], v, rtol=0, atol=1e-5, msg=f"{part}.{k}")
    moved = max((a["model"][k] - init[k]).abs().max().item() for k in init)
    assert moved > 1e-3                                      # the step really changed the weights
