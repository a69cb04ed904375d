"""Data-parallel training under ``torchrun`` with PyTorch's own DistributedDataParallel (DDP).

    torchrun --standalone --nproc_per_node=2 -m gan_core train --preset ring8 --steps 3000 --out runs/ring8

``torchrun`` starts the processes and sets RANK / WORLD_SIZE / LOCAL_RANK; ``from_env`` joins the process
group (NCCL on CUDA, gloo on the CPU) and ``Trainer`` calls ``attach`` once its networks exist. Then:

- ``train.batch_size`` stays the *global* batch: each process draws ``batch_size / world_size`` samples
  (it must divide), so a config means the same run on 1 or N processes;
- each process samples from its own shard of the training images (every ``world_size``-th one from its
  rank) and its own random stream (the seed plus an offset per rank; rank 0's equals a single process's);
- every network a family trains is wrapped in DDP, which starts from rank 0's weights and averages the
  gradients in each backward pass, so the weights stay identical in every process;
- the step's metric vector is averaged over the processes (losses and accuracies of the global batch);
- rank 0 alone writes the run folder, the live files and the final JSON line.

Families call more than a network's ``forward`` (``D.features``, ``D.aux``, ``G.ab``...). DDP only sees
calls through its own ``forward``, so during a step ``Routed`` hands the family a stand-in whose methods and
submodules are called *through* the DDP wrapper (``_Entry.forward`` dispatches by name); anything else
(parameters, buffers) is the network's own. Outside the step ``trainer.G`` / ``trainer.D`` are the plain
networks (pictures, evaluations, snapshots and checkpoints never touch DDP), so a checkpoint written by
rank 0 resumes in a single process and in the app.

BatchNorm: on CUDA it becomes ``SyncBatchNorm`` only where the user asks (``GAN_PLAYGROUND_SYNC_BN=1``);
by default, and always on the CPU (where PyTorch has no SyncBatchNorm), each process normalises over its
own share of the batch and keeps its own running statistics (rank 0's are saved). See the README.
"""
from __future__ import annotations

import dataclasses
import gc
import os
import signal
import warnings
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

RANK_SEED_OFFSET = 100_003  # rank r trains from seed + r * this (rank 0: the single-process stream)
TIMEOUT_S = float(os.environ.get("GAN_PLAYGROUND_DIST_TIMEOUT_S", "300"))  # a silent peer fails a collective
_ACTIVE: Optional["Context"] = None
# a (1, n) weight's gradient has strides (1, 1) where DDP's bucket view has (n, 1): the same memory layout for
# a dimension of size 1, and harmless (PyTorch says so itself), but printed on every run
warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")


class DistributedError(RuntimeError):
    """A collective failed: another process stopped or cannot be reached."""


@dataclasses.dataclass
class Context:
    rank: int
    world: int
    local_rank: int
    local_world: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---- what Trainer calls --------------------------------------------------------------------------
    def local_config(self, cfg):
        """``cfg`` with this process's share of the global batch."""
        b = cfg.train.batch_size
        if b % self.world:
            raise ValueError(f"train.batch_size = {b} must be a multiple of the {self.world} processes "
                             f"(each one trains on batch_size / {self.world})")
        return cfg.replace(batch_size=b // self.world)

    def attach(self, tr) -> None:
        """Make ``tr`` (a fresh Trainer) one process of a data-parallel run (see the module docstring)."""
        if tr.family.name == "began":
            raise ValueError("model.family = 'began' cannot train under torchrun: its balance k_t is updated from "
                             "each process's own batch and would differ between processes; train it in one process")
        tr.data = shard(tr.data, self.rank, self.world)
        if tr.source is not None:
            tr.source = shard(tr.source, self.rank, self.world)
        self.reseed(tr)
        if tr.device.type == "cpu":  # the cores are shared by the processes of this machine
            torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) // self.local_world)))
        ids = [tr.device.index if tr.device.index is not None else torch.cuda.current_device()] \
            if tr.device.type == "cuda" else None
        routed = []
        for name in ("G", "D"):
            net = tr.nets[name]
            if tr.device.type == "cuda" and os.environ.get("GAN_PLAYGROUND_SYNC_BN") == "1":
                net = tr.nets[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)
            # forward_sync_buffers=False: no collective in a forward pass, so rank 0 alone may sample for
            # pictures and evaluations; DDP still copies rank 0's weights and buffers once, here
            ddp = DistributedDataParallel(_Entry(net), device_ids=ids, forward_sync_buffers=False)
            routed.append(Routed(ddp, net))
        tr.G, tr.D = tr.nets["G"], tr.nets["D"]
        tr.routed = tuple(routed)  # what the family's step sees as tr.G, tr.D (Trainer.step swaps them in)
        tr.dist = self
        tr.apply_config(tr.cfg)

    def reseed(self, tr) -> None:
        """Give rank r its own training stream (after a build, or a resume restored rank 0's)."""
        if self.rank:  # + the step: a resumed run does not replay the stream it started with
            tr.gen.manual_seed(tr.cfg.train.seed + self.rank * RANK_SEED_OFFSET + tr.step_count)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The average over the processes of a step's metric vector."""
        try:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        except RuntimeError as exc:
            if not is_lost_peer(exc):
                raise
            raise self.lost(exc) from exc
        return values.div_(self.world)

    def lost(self, exc: BaseException) -> DistributedError:
        return DistributedError(f"another training process stopped or cannot be reached (this is rank {self.rank} "
                                f"of {self.world}); the run ends here. {type(exc).__name__}: {str(exc)[:300]}")


def is_lost_peer(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective failing because a peer went away (not a bug of the step itself)."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return any(s in text for s in ("Connection closed by peer", "Connection reset", "Gloo", "gloo", "NCCL",
                                   "Broken pipe", "timed out"))


def shard(data, rank: int, world: int):
    """Every ``world``-th training image from ``rank`` (image folders, MNIST, Stacked MNIST's digits); toy
    distributions are endless samplers and stay as they are (each rank draws its own points)."""
    if hasattr(data, "digits"):  # Stacked MNIST: shard the digits the stacks are drawn from
        return dataclasses.replace(data, digits=shard(data.digits, rank, world))
    images = getattr(data, "images", None)
    if images is None or world == 1:
        return data
    if images.shape[0] < world:
        raise ValueError(f"the dataset has {images.shape[0]} images, fewer than the {world} processes")
    labels = data.labels[rank::world] if data.labels is not None else None
    return dataclasses.replace(data, images=images[rank::world], labels=labels)


class _Entry(nn.Module):
    """What DDP wraps: the network, with ``forward`` calling the method or submodule named by ``route``."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, route: tuple, *args, **kwargs):
        target = self.net
        for part in route:
            target = getattr(target, part)
        return target(*args, **kwargs)


class Routed:
    """A network as a family sees it, with every call going through DDP (see the module docstring)."""

    def __init__(self, ddp: DistributedDataParallel, net: nn.Module, route: tuple = ()):
        self._ddp, self._net, self._route = ddp, net, route

    def __call__(self, *args, **kwargs):
        return self._ddp(self._route, *args, **kwargs)

    def __getattr__(self, name: str):
        value = getattr(self._net, name)
        kind = stand_in_kind(name, value)
        if kind == "module":
            return Routed(self._ddp, value, self._route + (name,))
        if kind == "method":
            route = self._route + (name,)
            return lambda *args, **kwargs: self._ddp(route, *args, **kwargs)
        return value


def stand_in_kind(name: str, value) -> str:
    """How a step's stand-in for a network (``Routed`` here, ``gan_core.compiled.CompiledNet``) treats the
    network's attribute ``name``: "module" (a submodule: a stand-in of its own), "method" (the network's own
    computation, e.g. ``features``: called through the stand-in) or "plain" (parameters, buffers, nn.Module's
    API: the network's own)."""
    if isinstance(value, nn.Module):
        return "module"
    if callable(value) and not hasattr(nn.Module, name) and not name.startswith("_"):
        return "method"
    return "plain"


def active() -> Optional[Context]:
    return _ACTIVE


def from_env(device_name: str) -> Optional[Context]:
    """Join the process group torchrun set up (None when not under torchrun, or with one process)."""
    global _ACTIVE
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or "RANK" not in os.environ:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    from .trainer import resolve_device
    cuda = resolve_device(device_name).type == "cuda"
    if cuda:
        torch.cuda.set_device(local_rank)
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=TIMEOUT_S),
                            device_id=torch.device("cuda", local_rank) if cuda else None)
    _ACTIVE = Context(dist.get_rank(), dist.get_world_size(), local_rank,
                      int(os.environ.get("LOCAL_WORLD_SIZE", "1")), backend)
    return _ACTIVE


def leave() -> None:
    """Leave the process group (after every DDP-wrapped network of this process is gone)."""
    global _ACTIVE
    gc.collect()  # a DDP reducer destroyed after its process group aborts the process at exit
    if dist.is_initialized():
        dist.destroy_process_group()
    _ACTIVE = None


def on_terminate(handler) -> None:
    """Call ``handler()`` in the main thread when torchrun stops this process (SIGTERM after another failed)."""
    signal.signal(signal.SIGTERM, lambda *_: handler())
