"""One process or many: the same training entry points run plainly or under `torchrun`
(PyTorch DistributedDataParallel: gloo on the CPU, nccl on CUDA).

Every process draws the same global batch of sample indices for a step (from the config's seed and
the step number, so a resumed run draws what an unbroken one would) and trains on its own slice;
DDP averages the gradients, which for losses that are means over samples equals the gradient of the
global batch. Only rank 0 writes (dataset cache, checkpoints, records); the others wait for it.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @staticmethod
    def from_env() -> "Dist":
        """The process group torchrun describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK,
        MASTER_ADDR/PORT), or a single process."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return Dist()
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
        return Dist(dist.get_rank(), world, torch.device(f"cuda:{local}") if cuda else torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        """DDP around the network (rank 0's parameters broadcast to all), or the network itself."""
        if self.world == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This process's contiguous slice of a global batch of indices."""
        if len(idx) % self.world:
            raise ValueError(f"the batch ({len(idx)}) must divide among the {self.world} processes")
        k = len(idx) // self.world
        return idx[self.rank * k:(self.rank + 1) * k]

    def mean(self, value: float) -> float:
        """The mean of a number over the processes (what the global batch's loss is)."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t[0]) / self.world

    def close(self) -> None:
        """Leave the process group. The DDP wrapper sits in reference cycles, so it (and the gloo
        group it holds) is collected first; a group left to the interpreter's exit aborts the
        process now and then ("terminate called without an active exception", seen under load)."""
        if self.world > 1:
            import torch.distributed as dist

            gc.collect()
            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()
            gc.collect()
