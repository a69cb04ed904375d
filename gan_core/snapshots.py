"""In-memory "last good" snapshots of a run, for rolling back after training diverges.

Every ``train.snapshot_every`` steps the run loop copies G, D, both optimisers, the RNG states and the
step counters into a small ring (``KEEP`` entries), but only when every weight is finite: a snapshot
is a state training may safely return to. ``restore`` writes one back into the Trainer.

    ring = SnapshotRing()
    ring.maybe_take(trainer, every=500)      # in the loop, between steps
    step = ring.restore_latest(trainer)      # after a NaN: back to the newest good state
"""
from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from typing import Optional

import torch

KEEP = 3  # snapshots kept; the oldest is dropped first


@dataclass
class Snapshot:
    step: int
    d_updates: int
    g_state: dict
    d_state: dict
    opt_g: dict
    opt_d: dict
    rng: torch.Tensor
    eval_rng: torch.Tensor
    ema_state: Optional[dict] = None  # the averaged G (train.g_ema), or None


def _clone(state):
    """A deep copy of a (nested) state dict whose tensors do not share memory with the live ones."""
    if torch.is_tensor(state):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: _clone(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_clone(v) for v in state)
    return copy.copy(state)


def weights_finite(trainer) -> bool:
    """True when every parameter and buffer of G and D is finite (one device sync)."""
    tensors = [t for m in (trainer.G, trainer.D) for t in list(m.parameters()) + list(m.buffers())
               if t.is_floating_point()]
    if not tensors:
        return True
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


class SnapshotRing:
    def __init__(self, keep: int = KEEP):
        self._ring: deque[Snapshot] = deque(maxlen=keep)

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def latest_step(self) -> Optional[int]:
        return self._ring[-1].step if self._ring else None

    def clear(self) -> None:
        self._ring.clear()

    def due(self, step: int, every: int) -> bool:
        last = self.latest_step
        return every > 0 and (last is None or step - last >= every or step < last)

    def take(self, trainer) -> bool:
        """Copy the trainer's state in; refused (False) when a weight is NaN or Inf."""
        if not weights_finite(trainer):
            return False
        self._ring.append(Snapshot(
            trainer.step_count, trainer._d_updates, _clone(trainer.G.state_dict()),
            _clone(trainer.D.state_dict()), _clone(trainer.opt_g.state_dict()),
            _clone(trainer.opt_d.state_dict()), trainer.gen.get_state(), trainer.eval_gen.get_state(),
            _clone(trainer.g_ema.state_dict()) if trainer.g_ema is not None else None))
        return True

    def maybe_take(self, trainer, every: int) -> bool:
        return self.due(trainer.step_count, every) and self.take(trainer)

    def restore_latest(self, trainer) -> int:
        """Write the newest snapshot back into ``trainer``; returns its step. Keeps the snapshot (a
        second divergence can roll back to it again)."""
        if not self._ring:
            raise RuntimeError("no good snapshot has been kept yet; press Reset instead")
        s = self._ring[-1]
        trainer.G.load_state_dict(s.g_state)
        trainer.D.load_state_dict(s.d_state)
        if trainer.g_ema is not None:  # the average went through the divergence too: back with the rest
            trainer.g_ema.load_state_dict(s.ema_state if s.ema_state is not None else s.g_state)
        trainer.opt_g.load_state_dict(_clone(s.opt_g))
        trainer.opt_d.load_state_dict(_clone(s.opt_d))
        trainer.gen.set_state(s.rng)
        trainer.eval_gen.set_state(s.eval_rng)
        trainer.step_count, trainer._d_updates = s.step, s.d_updates
        trainer.apply_config(trainer.cfg)  # keep the hyperparameters the user has set since
        return s.step
