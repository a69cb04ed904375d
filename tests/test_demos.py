"""The Train page's lecture demos happen on cue: seeded CPU runs, headless, asserting what the Guide promises.

- ``ring8_collapse``: the generator hops between a few modes (Metz et al. 2017, Fig. 1), measured with the
  VEEGAN/PacGAN protocol every 200 steps over 6,000 steps, in at least 2 of seeds 0, 1, 2.
- ``ring8_sgd`` + lr 1.0 while it trains: NaN within a few steps, the Run pauses itself and offers Roll back;
  rolling back and setting the learning rates back to 0.02 trains on.
- ``ring8_dwins``: D is right on ~100% of real and fake, G's minimax gradient collapses and the "d_wins"
  alert fires; switching to the non-saturating loss brings the gradient back.

The mode-hopping demo trains its seeds in parallel processes (one torch thread each), so the module stays
within about a minute on a 2-core machine.
"""
from __future__ import annotations

import math
import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import torch

from gan_core.health import assess
from gan_core.losses import LOSSES
from gan_core.metrics import STEP_METRICS, modes_covered
from gan_core.presets import preset_config
from gan_core.run import Run
from gan_core.trainer import Trainer
from helpers_ui import stopped_runs, wait_until  # noqa: F401  (stopped_runs: fixture)

pytestmark = pytest.mark.usefixtures("one_thread", "stopped_runs")  # no training thread outlives a test
M = {name: i for i, name in enumerate(STEP_METRICS)}

# ---------------------------------------------------------------- mode hopping (ring8_collapse)

HOP_STEPS, HOP_EVERY, HOP_SAMPLES = 6000, 200, 2500


def covered_sets(seed: int) -> list[tuple[int, tuple[int, ...]]]:
    """(step, modes covered) every HOP_EVERY steps of a ring8_collapse run (VEEGAN/PacGAN protocol)."""
    torch.set_num_threads(1)
    tr = Trainer(preset_config("ring8_collapse", seed=seed, device="cpu"))
    means, std = tr.data.modes, tr.data.mode_std
    out = []
    for step in range(1, HOP_STEPS + 1):
        tr.step()
        if step % HOP_EVERY == 0:
            captured, _ = modes_covered(tr.sample(HOP_SAMPLES), means, std)  # eval generator: no training RNG
            out.append((step, tuple(captured.tolist())))
    return out


def hopping(sets) -> dict:
    late = [len(c) for step, c in sets if step > HOP_STEPS // 4]
    changes = sum(a != b for (_, a), (_, b) in zip(sets, sets[1:]))
    visited = set().union(*(set(c) for _, c in sets))
    return {"median": statistics.median(late), "changes": changes, "visited": len(visited)}


def hops(r: dict) -> bool:
    return r["median"] <= 3 and r["changes"] >= 3 and r["visited"] >= 4


def test_ring8_collapse_hops_between_a_few_modes():
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter per seed: no forked torch state
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        results = dict(zip((0, 1), map(hopping, pool.map(covered_sets, (0, 1)))))
    if sum(map(hops, results.values())) < 2:  # the promise is 2 of 3 seeds: the third decides
        results[2] = hopping(covered_sets(2))
    good = [s for s, r in results.items() if hops(r)]
    assert len(good) >= 2, f"mode hopping in seeds {good} only: {results}"


# ---------------------------------------------------------------- divergence -> Roll back (ring8_sgd)

def test_sgd_with_lr_1_diverges_pauses_and_rolls_back():
    run = Run(preset_config("ring8_sgd", seed=0))
    try:
        run.start()
        wait_until(lambda: run.snapshots.latest_step is not None and run.snapshots.latest_step >= 200,
                   timeout=60, what="a healthy snapshot past step 200")
        healthy = run.snapshot(visual=False)
        assert np.isfinite(healthy["history"]["d_loss"]).all() and not healthy["alerts"]
        # change right after a fresh snapshot, so the newest one predates the change (it diverges in ~5 steps,
        # the next snapshot is due 200 steps later)
        seen = run.snapshots.latest_step
        wait_until(lambda: run.snapshots.latest_step != seen, timeout=60, what="the next snapshot")
        run.set(lr_g=1.0, lr_d=1.0)
        changed_at = run.step
        wait_until(lambda: run.state == "paused" and run.diverged_at is not None, timeout=30,
                   what="the run to pause itself on NaN/Inf")
        good = run.snapshots.latest_step
        assert good is not None and good <= changed_at + 1
        assert changed_at <= run.diverged_at <= changed_at + 50  # within a few steps of the change
        assert any(a.kind == "divergence" for a in run.alerts())
        assert "Roll back" in next(a for a in run.alerts() if a.kind == "divergence").remedy

        assert run.rollback() == good
        run.set(lr_g=0.02, lr_d=0.02)  # the Guide's remedy: back to the rate that trained
        run.start()
        wait_until(lambda: run.step > good + 300, timeout=60, what="training on past the roll back")
        run.pause()
        wait_until(lambda: run.latest()["step"] > good + 300, what="the flushed rows")
        h = run.history
        rows = h.data[: h.n]
        after = rows[rows[:, h.col["step"]] > good]
        assert len(after) >= 300 and run.diverged_at is None
        assert np.isfinite(after[:, h.col["d_loss"]]).all() and np.isfinite(after[:, h.col["g_loss"]]).all()
        assert (after[:, h.col["finite"]] == 1).all()
    finally:
        run.stop()


# ---------------------------------------------------------------- D wins (ring8_dwins)

def test_ring8_dwins_d_wins_and_gs_gradient_vanishes_until_non_saturating():
    cfg = preset_config("ring8_dwins", seed=0)
    tr = Trainer(cfg)
    steps = 600
    rows = torch.stack([tr.step() for _ in range(steps)]).numpy().astype(np.float64)
    window = rows[-200:]
    assert window[:, M["d_acc_real"]].mean() >= 0.99 and window[:, M["d_acc_fake"]].mean() >= 0.99
    g = rows[:, M["g_grad_norm"]]
    early = max(np.median(g[i:i + 50]) for i in range(0, 200, 50))
    late = np.median(window[:, M["g_grad_norm"]])
    assert late <= early / 10, f"G's gradient norm {early:.3g} -> {late:.3g}"
    history = {name: rows[:, i] for name, i in M.items()}
    history["step"] = np.arange(1, steps + 1, dtype=np.float64)
    alerts = assess(history, output=LOSSES[cfg.loss.loss].output, config=cfg.to_dict())
    d_wins = [a for a in alerts if a.kind == "d_wins"]
    assert d_wins and "non-saturating" in d_wins[0].remedy

    tr.apply_config(cfg.replace(loss="non_saturating"))  # the remedy, live
    after = torch.stack([tr.step() for _ in range(100)]).numpy()
    assert np.median(after[:, M["g_grad_norm"]]) >= 100 * late
    assert math.isfinite(float(after[-1, M["g_loss"]]))
