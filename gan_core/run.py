"""A training run: owns a Trainer and a daemon thread; pages and the CLI only call its methods.

    run = Run.from_preset("ring8", seed=1)
    run.start(); run.set(lr_g=5e-4); snap = run.snapshot(); run.stop()

Controls (start, pause, resume, step_once, stop, reset, set) may be called from any thread. The loop
reads pending hyperparameters at the start of each step, keeps per-step metrics in a device buffer and
copies them to the history every 64 steps or 0.2 s (one host transfer instead of one per step), and
computes pictures only while someone has asked for them in the last few seconds.
"""
from __future__ import annotations

import atexit
import re
import threading
import time
import uuid
import weakref
from collections import deque
from pathlib import Path
from typing import Callable, Optional


from . import budget
from .config import Config, live_changes
from .diagnostics import Diagnostics
from .health import assess
from .history import History
from .losses import LOSSES
from .metrics import STEP_METRICS
from .presets import preset_config
from .snapshots import SnapshotRing
from .trainer import Trainer
from .latent import GeneratorView
from .run_loop import FLUSH_STEPS, ITERATIONS_KEPT, SNAPSHOT_GRACE_STEPS, RunLoop  # noqa: F401  (FLUSH_STEPS: the divergence-detection delay)

COLUMNS = ("step", "time") + STEP_METRICS + ("steps_per_s", "samples_per_s")  # a plain GAN's history


def columns_for(trainer) -> tuple:
    """History columns of a run: COLUMNS with the family's own metrics before the rates."""
    return ("step", "time") + tuple(trainer.metric_names) + ("steps_per_s", "samples_per_s")
HEALTH_ROWS = 600  # newest history rows the health rules read
VISUAL_INTEREST_SECONDS = 5.0  # pictures are drawn while a page asked for one this recently
GENERATOR_COPY_SECONDS = 0.5  # a page's generator copy is refreshed this often while pages ask for it
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_RATE = 10_000.0  # the slow-motion cap (steps/s) accepts 0 (no cap) up to this
MAX_RUN_STEPS = 1_000_000  # "Step x N" accepts 1..this
_LIVE_RUNS: "weakref.WeakSet[Run]" = weakref.WeakSet()


class Run(RunLoop):
    def __init__(self, config: Config, run_id: Optional[str] = None, dataset=None,
                 progress: Optional[Callable[[str, float], None]] = None, autosave_dir=None,
                 preset: Optional[str] = None):
        # an id is a file name and is shown on pages: letters, digits, "-" and "_" only (a checkpoint's
        # metadata is not trusted; anything else gets a fresh id)
        self.id = run_id if isinstance(run_id, str) and RUN_ID.fullmatch(run_id) else uuid.uuid4().hex[:8]
        self.autosave_dir = autosave_dir  # where autosaves go (train.autosave_minutes); None = nowhere
        self.preset = preset  # the preset this run was built from (None: custom settings); shown in lists
        self.max_rate = 0.0  # slow motion: at most this many steps per second while running; 0 = no cap
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._requests: deque = deque()
        self._pending_cfg: Optional[Config] = None
        self._build(config, dataset, progress)
        _LIVE_RUNS.add(self)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "Run":
        return cls(preset_config(name, **overrides), preset=name)

    def _build(self, config: Config, dataset=None, progress=None) -> None:
        trainer = Trainer(config, dataset, progress)  # may raise: leave the old state untouched then
        self.trainer, self.config, self.config_version = trainer, config, 0
        self.history = History(columns_for(trainer))
        self.diagnostics = Diagnostics(trainer)
        self.evals = History(self.diagnostics.columns, capacity=4000)
        self.state, self.message = "ready", ""
        self._running = False
        self.pause_at: Optional[int] = None  # the loop pauses itself once the step count reaches this
        self.changed_at = -SNAPSHOT_GRACE_STEPS  # step of the newest live change (Run.set)
        self._visual, self._visual_step, self._visual_time = None, -1, 0.0
        self._visual_wanted_until = 0.0
        self._gview: Optional[GeneratorView] = None
        self._gview_wanted_until = 0.0
        self._elapsed, self._started_at = 0.0, None
        self._rate: deque = deque(maxlen=64)  # (step, elapsed s) at recent flushes: speed over ~1 s
        self._restart_rate(0)
        self.snapshots = SnapshotRing()  # "last good" states to roll back to after a divergence
        self.saved_step, self.saved_at = None, None  # the newest checkpoint written (Save or autosave)
        self._last_save = time.perf_counter()
        self._last_flush_finite = True
        self.diverged_at: Optional[int] = None  # step whose loss went NaN/Inf; cleared by a rollback
        # the newest iterations as flushed: step, kind ("both", "d", "g"), the networks updated in order
        # (Trainer.last_updates), when it finished (perf_counter) and its metrics; the model strip narrates them
        self.iterations: deque = deque(maxlen=ITERATIONS_KEPT)

    # ---- controls --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start training, or resume it when paused."""
        with self._lock:
            if self.state == "error":
                raise RuntimeError(f"run {self.id} failed: {self.message}; press Reset")
            self._running = True
            self.state, self.message = "running", ""
        self._ensure_thread()
        self._wake.set()

    resume = start

    def pause(self) -> None:
        with self._lock:
            if self.state == "running":
                self._running = False
                self.state = "paused"
        self._wake.set()

    def run_steps(self, n: int) -> None:
        """Train ``n`` more iterations (at the current speed), then pause: "Step x10", "Step x100"."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RUN_STEPS:
            raise ValueError(f"steps = {n!r} must be a whole number in [1, {MAX_RUN_STEPS:,}]")
        with self._lock:
            self.pause_at = self.trainer.step_count + n
        self.start()

    def set_pause_at(self, step: Optional[int]) -> None:
        """Pause by itself once training reaches ``step`` (None or 0: no such pause)."""
        if step in (None, 0):
            self.pause_at = None
            return
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"pause at step = {step!r} must be a whole number >= 0 (0 = never)")
        with self._lock:
            if step <= self.trainer.step_count:
                raise ValueError(f"pause at step {step:,} is not ahead of the run (it is at step "
                                 f"{self.trainer.step_count:,})")
            self.pause_at = step
        self._wake.set()

    def set_speed(self, steps_per_s: float) -> None:
        """Slow motion for narration: at most ``steps_per_s`` iterations per second (0 = as fast as it goes)."""
        if isinstance(steps_per_s, bool) or not isinstance(steps_per_s, (int, float)) or not (
                0.0 <= steps_per_s <= MAX_RATE):
            raise ValueError(f"speed = {steps_per_s!r} must be in [0, {MAX_RATE:g}] steps/s (0 = no limit)")
        self.max_rate = float(steps_per_s)
        self._wake.set()

    def step_once(self, which: str = "both", timeout: float = 60.0) -> dict:
        """Run exactly one iteration ("both", "d" or "g") and return its metrics."""
        if which not in ("both", "d", "g"):
            raise ValueError(f"which = {which!r} is not one of ['both', 'd', 'g']")
        with self._lock:
            if self.state in ("ready", "stopped", "finished"):
                self.state = "paused"
        self.call_in_loop(which, timeout)
        return self.latest()

    def call_in_loop(self, job, timeout: float = 60.0):
        """Run ``job`` (a callable taking the Trainer, or a step kind) between two training steps and
        return its result: the only safe way to read or write the models while the thread trains."""
        box: dict = {}
        done = threading.Event()
        if self.state == "error":
            raise RuntimeError(f"run {self.id} failed: {self.message}; press Reset")
        self._ensure_thread()
        self._requests.append((job, done, box))
        self._wake.set()
        if not done.wait(timeout):
            raise TimeoutError(f"the training thread did not answer within {timeout} s")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def save(self, out_dir=None):
        """Write a checkpoint (see gan_core.checkpoint) between two steps into ``out_dir`` (default: the
        autosave folder); returns the weights path."""
        out_dir = out_dir or self.autosave_dir
        if out_dir is None:
            raise ValueError("save needs a folder: pass out_dir or set run.autosave_dir")
        if self._thread is not None and self._thread.is_alive():
            return self.call_in_loop(lambda tr: self._save_now(out_dir))
        with self._lock:
            return self._save_now(out_dir)

    def save_if_unsaved(self) -> None:
        """Checkpoint to the autosave folder if the run trained since its last save; for runs that are going
        away (app exit, dropped from the registry), where a failure has nobody left to tell."""
        if self.autosave_dir is None or self.saved_step == self.step or self.step == 0:
            return
        try:
            self.save()
        except (OSError, RuntimeError, ValueError):
            pass

    def _save_now(self, out_dir):
        from .checkpoint import save_checkpoint
        path = save_checkpoint(self, out_dir)
        self.saved_step, self.saved_at, self._last_save = self.trainer.step_count, time.time(), time.perf_counter()
        return path

    def rollback(self) -> int:
        """Return to the newest good in-memory snapshot (after a divergence): weights, optimisers and step;
        the history after that step is dropped. The run stays paused; returns the step."""
        def job(tr):
            step = self.snapshots.restore_latest(tr)
            with self._lock:
                self.history.truncate_after(step)
                self.evals.truncate_after(step)
                self.iterations.clear()
                self._restart_rate(step)
                if self.state in ("error", "running"):
                    self.state = "paused"
                self._running = False
                self.message = f"Rolled back to step {step:,}, the last good snapshot."
                self.diverged_at = None
                self._visual_step, self._gview = -1, None
            return step
        if self._thread is not None and self._thread.is_alive():
            return self.call_in_loop(job)
        with self._lock:
            return job(self.trainer)

    @classmethod
    def from_checkpoint(cls, path, device: Optional[str] = None, progress=None, new_id: bool = False) -> "Run":
        """A paused-state run restored from a checkpoint folder (weights, optimiser, step, history); with the
        checkpoint's run id, or a fresh one when ``new_id`` (a copy that goes its own way)."""
        from .checkpoint import load_checkpoint, restore_into
        ckpt = load_checkpoint(path)
        config = ckpt.config.replace(device=device) if device else ckpt.config
        from .presets import PRESETS
        preset = ckpt.meta.get("preset")
        run = cls(config, run_id=None if new_id else ckpt.meta.get("run_id") or None, progress=progress,
                  preset=preset if preset in PRESETS else None)
        restore_into(run, ckpt)
        run._restart_rate(run.step)
        if run.step > 0:
            run.state = "paused"
        return run

    def stop(self, timeout: Optional[float] = 1.0) -> None:
        """Stop the thread (returns within ``timeout``); the weights stay, ``start`` continues training."""
        with self._lock:
            thread = self._thread
            self._running = False
            self._stop.set()
            if self.state in ("running", "paused"):
                self.state = "stopped"
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reset(self, config: Optional[Config] = None, progress=None) -> None:
        """Fresh weights and an empty history, with ``config`` or the current one, under a NEW run id.

        A reset run is a different run: it gets a new ``id`` and, when it autosaves, a new folder beside
        the old one, so the old run's checkpoint is never overwritten by fresh weights. (The app does not
        reset runs in place at all: ``ui.runs.RunRegistry.replace`` builds a new Run and keeps the old one.)"""
        self.stop(timeout=None)  # wait for the step in flight: the old thread must not touch the new state
        with self._lock:
            self._build(config or self.config, None, progress)
            self._pending_cfg = None
            old_id, self.id = self.id, uuid.uuid4().hex[:8]
            if self.autosave_dir is not None and Path(self.autosave_dir).name == old_id:
                self.autosave_dir = Path(self.autosave_dir).parent / self.id
            elif self.autosave_dir is not None:
                self.autosave_dir = None  # a folder the caller chose holds the old run: never write over it

    def set(self, **changes) -> Config:
        """Change live hyperparameters (validated); the loop adopts them at its next step."""
        names = live_changes(changes)
        with self._lock:
            new = self.config.replace(**names)
            if new.train.batch_size != self.config.train.batch_size:  # more memory per step: does it fit?
                tr = self.trainer
                budget.check(new, tr.data_shape, tr.device, tr.data.num_classes, data_loaded=True,
                             models_built=True)
            self.config = new
            self.config_version += 1
            self.changed_at = self.trainer.step_count  # snapshots wait until the change has proven harmless
            if self._thread is not None and self._thread.is_alive():
                self._pending_cfg = new
            else:
                self.trainer.apply_config(new)
            self._visual_step = -1  # the picture depends on the loss: redraw it
        self._wake.set()
        return new

    # ---- reading ---------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.trainer.step_count

    @property
    def unsaved_steps(self) -> int:
        """Steps trained since the newest checkpoint (all of them when none was written); 0 for a fresh run."""
        step, saved = self.trainer.step_count, self.saved_step
        if step == 0 or step == saved:
            return 0
        return step - saved if saved is not None and step > saved else step

    def latest(self) -> dict:
        with self._lock:
            return {n: float(v) for n, v in zip(self.history.names, self.history.last)}

    def snapshot(self, max_points: int = 2000, visual: bool = True) -> dict:
        """Copies of everything a page draws, taken under the lock (safe while training)."""
        now = time.perf_counter()
        modes = getattr(self.trainer.data, "modes", None)
        with self._lock:
            if visual:
                self._visual_wanted_until = now + VISUAL_INTEREST_SECONDS
                idle = self._thread is None or not self._thread.is_alive()
                if idle and self._visual_step != self.trainer.step_count:
                    self._make_visual(now)  # no thread: safe to use the models here
            snap = {
                "id": self.id, "state": self.state, "message": self.message, "step": self.trainer.step_count,
                "config": self.config.to_dict(), "config_version": self.config_version,
                "device": str(self.trainer.device), "history": self.history.view(max_points),
                "evals": self.evals.view(max_points), "latest": dict(zip(self.history.names, self.history.last.tolist())),
                "elapsed": self._elapsed_now(now), "visual": self._visual if visual else None,
                "lr_factor": self.trainer.lr_factor(), "noise_std": self.trainer.noise_std(),
                "has_modes": modes is not None, "n_modes": 0 if modes is None else int(modes.shape[0]),
                "diag_kind": self.diagnostics.kind, "n_classes": self.diagnostics.n_classes,
                "class_hist": None if self.diagnostics.class_hist is None else self.diagnostics.class_hist.copy(),
                "alerts": self.alerts(), "diverged_at": self.diverged_at,
                "rollback_step": self.snapshots.latest_step,
                "path": "eager" + (" (no fast path on CPU)" if self.trainer.device.type == "cpu" else ""),
                "saved_step": self.saved_step, "saved_at": self.saved_at, "unsaved_steps": self.unsaved_steps,
                "preset": self.preset, "max_rate": self.max_rate, "pause_at": self.pause_at,
                "iterations": [{**it, "values": dict(it["values"]), "age": now - it["done_at"]}
                               for it in self.iterations],
            }
        return snap

    def generator_view(self) -> GeneratorView:
        """A recent frozen copy of G for pages that generate on their own (latent lab, diagnostics).

        Returns at once with the newest copy; while pages keep asking, the training loop refreshes it
        between steps every ``GENERATOR_COPY_SECONDS``. The first call makes one (between two steps)."""
        now = time.perf_counter()
        self._gview_wanted_until = now + VISUAL_INTEREST_SECONDS
        view = self._gview
        alive = self._thread is not None and self._thread.is_alive()
        if view is None or (not alive and view.step != self.trainer.step_count):
            if alive:
                view = self.call_in_loop(lambda tr: GeneratorView.of(tr, time.perf_counter()))
            else:
                with self._lock:
                    view = GeneratorView.of(self.trainer, now)
            self._gview = view
        return view

    def _refresh_generator_view(self, now: float) -> None:
        view = self._gview
        if (view is not None and now < self._gview_wanted_until and view.step != self.trainer.step_count
                and now - view.made_at > GENERATOR_COPY_SECONDS):
            self._gview = GeneratorView.of(self.trainer, now)

    def alerts(self) -> list:
        """Health alerts (gan_core.health) from the newest metrics."""
        with self._lock:
            h = self.history
            tail = h.data[max(0, h.n - HEALTH_ROWS): h.n]
            history = {name: tail[:, i] for i, name in enumerate(h.names)}
            evals = {name: self.evals.data[: self.evals.n, i] for i, name in enumerate(self.evals.names)}
            kind = self.diagnostics.kind
            return assess(history, evals if kind == "modes" else None, evals if kind == "classes" else None,
                          output=LOSSES[self.config.loss.loss].output, n_modes=self.diagnostics.n_modes,
                          n_classes=self.diagnostics.n_classes, message=self.message, config=self.config.to_dict())

    def _restart_rate(self, step: int) -> None:
        """Measure speed from ``step`` on (a new, rolled back or restored run)."""
        self._rate.clear()
        self._rate.append((step, self._elapsed_now(time.perf_counter())))

    def _elapsed_now(self, now: float) -> float:
        return self._elapsed + (now - self._started_at if self._started_at is not None else 0.0)


def stop_all(timeout: float = 1.0) -> None:
    """Stop every live run's thread and autosave what trained since its last save (at interpreter exit,
    which SIGTERM and Ctrl+C reach too)."""
    for run in list(_LIVE_RUNS):
        run.stop(timeout)
        alive = run._thread is not None and run._thread.is_alive()
        if not alive and run.config.train.autosave_minutes > 0:
            run.save_if_unsaved()


atexit.register(stop_all)
