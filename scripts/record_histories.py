"""Record seeded training histories for the health-rule tests (tests/test_health.py).

    python scripts/record_histories.py                 # every case, into tests/data/
    python scripts/record_histories.py dwins_minimax   # only the named cases
    python scripts/record_histories.py --list          # what each case is

Each case trains a seeded run headless (a Trainer on one CPU thread, as the app's training thread does;
live changes are applied between steps like Run.set) and writes ``tests/data/history_<case>.npz``:

- ``h_<column>``: one row per step of the columns the health rules read (float32; "step" is implicit);
- ``e_<column>``: the run's diagnostics (gan_core.diagnostics: mode coverage on 2D mixtures, the
  shipped classifier's class coverage on digits) every ``EVAL_EVERY`` steps, when the data has them;
- ``config``: the run's final ``Config.to_dict()`` as JSON text, ``meta``: case name, what it shows,
  the output kind, n_modes / n_classes and the live changes, as JSON text.

No pickles: load with ``np.load(path, allow_pickle=False)``. The same seed, config and torch version give
the same numbers on the CPU; re-record only when training itself changes, and check the tests still say
what the cases are about. All cases together take a few minutes on a 2-core laptop.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.diagnostics import Diagnostics  # noqa: E402
from gan_core.losses import LOSSES  # noqa: E402
from gan_core.metrics import STEP_METRICS  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.trainer import Trainer  # noqa: E402

OUT = ROOT / "tests" / "data"
COLUMNS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "g_grad_norm", "finite")  # what health reads
EVAL_EVERY = 200

# name: (what it shows, preset, overrides, steps, {step: live changes})
CASES: dict[str, tuple[str, str, dict, int, dict]] = {
    "dwins_minimax": ("D wins at once and G's minimax gradient vanishes (the ring8_dwins preset).",
                      "ring8_dwins", {}, 1000, {}),
    "dwins_smoothing": ("D wins with one-sided label smoothing 0.1: its loss sits at the floor H(0.9) = 0.325, "
                        "never near 0.", "ring8_dwins", {"label_smoothing": 0.1, "lr_d": 1e-2}, 1500, {}),
    "digits_conditional_dominant": ("Conditional digits; at step 1,000 D gets 5 steps per G step and lr 2e-3: its "
                                    "accuracy climbs to 95%+ and the non-saturating G loss from ~2 to ~6.",
                                    "digits", {"conditional": True}, 3000, {1000: {"d_steps": 5, "lr_d": 2e-3}}),
    "ring8_collapse": ("The minimax ring8_collapse preset: G hops between a few modes.", "ring8_collapse", {},
                       3000, {}),
    "wgan_gp_collapse": ("ring8_collapse's settings with WGAN-GP: G (3x D's lr) never settles on the modes.",
                         "ring8_collapse", {"loss": "wgan_gp"}, 3000, {}),
    "ring8_healthy": ("The ring8 preset for 3,000 steps: all 8 modes, no alert.", "ring8", {}, 3000, {}),
    "digits_healthy": ("The digits preset: recognisable digits, no alert.", "digits", {}, 3000, {}),
    "grid25_healthy": ("The grid25 preset (R1): ~24-25 of 25 modes, no alert.", "grid25", {}, 5000, {}),
}


def record(name: str, seed: int = 0) -> Path:
    about, preset, overrides, steps, live = CASES[name]
    cfg = preset_config(preset, seed=seed, device="cpu", **overrides)
    torch.manual_seed(seed)
    tr = Trainer(cfg)
    torch.set_num_threads(1)
    diag = Diagnostics(tr)
    cols = [STEP_METRICS.index(c) for c in COLUMNS]
    rows = torch.empty((steps, len(STEP_METRICS)))
    evals = []
    t0 = time.perf_counter()
    for i in range(steps):
        if tr.step_count in live:
            cfg = cfg.replace(**live[tr.step_count])
            tr.apply_config(cfg)
        rows[i] = tr.step()
        if diag.kind is not None and tr.step_count % EVAL_EVERY == 0:
            evals.append(diag.measure(tr)[0])
    h = rows[:, cols].numpy().astype(np.float32)
    out = {f"h_{c}": h[:, j] for j, c in enumerate(COLUMNS)}
    if evals:
        e = np.asarray(evals, dtype=np.float32)
        out.update({f"e_{c}": e[:, j] for j, c in enumerate(diag.columns)})
    meta = dict(case=name, about=about, preset=preset, overrides=overrides, seed=seed, steps=steps,
                live={str(k): v for k, v in live.items()}, output=LOSSES[cfg.loss.loss].output,
                diag_kind=diag.kind, n_modes=diag.n_modes, n_classes=diag.n_classes if diag.kind else 0,
                seconds=round(time.perf_counter() - t0, 1), torch=torch.__version__)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"history_{name}.npz"
    np.savez_compressed(path, config=np.array(json.dumps(cfg.to_dict())), meta=np.array(json.dumps(meta)), **out)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"cases to record (default: all): {', '.join(CASES)}")
    parser.add_argument("--list", action="store_true", help="describe the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (about, preset, overrides, steps, live) in CASES.items():
            print(f"{name}: {about} [{preset} {overrides or ''} {steps} steps {live or ''}]")
        return
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choices: {list(CASES)}")
    for name in args.cases or CASES:
        t0 = time.perf_counter()
        path = record(name)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB in {time.perf_counter() - t0:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
