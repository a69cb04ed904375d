"""Run under torchrun by tests/test_distributed.py (not a test module): for each family's preset, a
data-parallel Trainer takes a few steps; rank 0 prints one JSON line per preset with the largest difference
between any process's weights and rank 0's (DDP keeps them identical), whether the processes drew
different data, and the metric vectors (averaged, so the same in every process).

    torchrun --standalone --nproc_per_node=2 tests/ddp_families.py ring8 digits_acgan ...
"""
from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from gan_core import distributed
from gan_core.presets import preset_config
from gan_core.trainer import Trainer

SMALL = {"batch_size": 16, "g_hidden": 32, "d_hidden": 32}


def _flat(trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for net in trainer.nets.values() for p in net.parameters()])


def main(presets: list) -> None:
    ctx = distributed.from_env("cpu")
    for name in presets:
        try:
            cfg = preset_config(name, seed=3).replace(**SMALL, device="cpu")
        except ValueError:  # a preset without MLP widths (cycle_ink's translators)
            cfg = preset_config(name, seed=3).replace(batch_size=16, device="cpu")
        try:
            tr = Trainer(cfg)
        except ValueError as exc:  # a family refused under torchrun: say so, in every process
            if ctx.is_main:
                print(json.dumps({"preset": name, "refused": str(exc)}), flush=True)
            continue
        before = _flat(tr)
        real, _ = tr.data.sample(tr.cfg.train.batch_size, tr.gen, tr.device)
        metrics = [tr.step().tolist() for _ in range(3)]
        mine = _flat(tr)
        everyone = [torch.empty_like(mine) for _ in range(ctx.world)]
        dist.all_gather(everyone, mine)
        batches = [torch.empty_like(real) for _ in range(ctx.world)]
        dist.all_gather(batches, real.contiguous())
        if ctx.is_main:
            print(json.dumps({
                "preset": name, "family": tr.family.name, "local_batch": tr.cfg.train.batch_size,
                "weights_max_diff": max(float((w - everyone[0]).abs().max()) for w in everyone),
                "weights_moved": float((mine - before).abs().max()),
                "same_batch": all(torch.equal(b, batches[0]) for b in batches[1:]),
                "metrics": metrics}), flush=True)
        del tr
    distributed.leave()


if __name__ == "__main__":
    main(sys.argv[1:])
