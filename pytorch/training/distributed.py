"""DDP set-up from the environment torchrun provides (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT).

Run directly, a program is rank 0 of 1 and no process group is made. Under
`torchrun --nproc_per_node N [--nnodes M ...] -m pytorch.bin.train ...` every process joins one
group: nccl when the processes use GPUs (one per LOCAL_RANK), gloo on CPU.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(device: str, local_rank: int) -> torch.device:
    """`auto`: the process's GPU when CUDA is available, else the CPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"train.device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device: cuda was asked for but no CUDA device is available; use auto or cpu")
    if device == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group described by the torchrun environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        log.info("rank %d/%d joined the %s process group on %s", rank, world, backend, dev)
    elif dev.type == "cuda":
        torch.cuda.set_device(dev)
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=dev)


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_sum(info: DistInfo, values: list[float]) -> list[float]:
    """Sum a few scalars over ranks (epoch loss sums, counts)."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64,
                     device=info.device if info.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return t.tolist()

