"""The training thread of a Run: the loop that steps the Trainer, flushes metrics, evaluates, draws,
keeps good snapshots, autosaves, and turns divergence and out-of-memory into a paused run with a message.

``RunLoop`` is a mixin of ``gan_core.run.Run``; it holds no state of its own (see ``Run._build``).
"""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import torch

from .metrics import STEP_METRICS
from .viz import make_visual

FLUSH_STEPS, FLUSH_SECONDS = 64, 0.2
VISUAL_SECONDS = 0.3
RATE_WINDOW_S = 1.0  # steps/s is measured over about this much training time (steady numbers on screen)
ITERATIONS_KEPT = 2  # newest iterations whose kind, updates and metrics the model strip can narrate
SNAPSHOT_GRACE_STEPS = 50  # no "good" snapshot this soon after a live change: lr 1.0 on SGD reaches NaN within
# a few steps, and a snapshot of the exploding weights in between would make Roll back useless


class RunLoop:
    def _ensure_thread(self) -> None:
        """Start the loop thread unless one is running; wait out a stopping one. Call without the lock."""
        while True:
            with self._lock:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    self._stop = threading.Event()
                    self._thread = threading.Thread(target=self._loop, args=(self._stop,),
                                                    name=f"gan-run-{self.id}", daemon=True)
                    self._thread.start()
                    return
                if not self._stop.is_set():
                    return
            thread.join()

    def _loop(self, stop: threading.Event) -> None:
        _lower_priority()
        tr = self.trainer
        buf = torch.empty((FLUSH_STEPS, len(tr.metric_names)), device=tr.device)
        meta = np.empty((FLUSH_STEPS, 2))
        marks: list = [None] * FLUSH_STEPS  # (kind, networks updated, finished at) of each buffered step
        k, last_flush = 0, time.perf_counter()
        next_step_at = 0.0  # slow motion (max_rate > 0): when the next training step may start
        self._started_at = time.perf_counter()
        req = None
        if not len(self.snapshots):
            self.snapshots.take(tr)  # the starting state is the first "good" one
        try:
            while not stop.is_set():
                self._wake.clear()
                with self._lock:
                    req = self._requests.popleft() if self._requests else None
                    running, cfg, self._pending_cfg = self._running, self._pending_cfg, None
                if cfg is not None:
                    tr.apply_config(cfg)
                if req is not None and not isinstance(req[0], str):  # a job: run it between steps
                    self._run_job(req)
                    req = None
                    continue
                if req is None and not running:
                    k = self._flush(buf, meta, k, marks)
                    self._pause_clock()
                    self._idle_visual()
                    self._wake.wait(0.5)
                    continue
                if req is None and self.max_rate > 0:  # slow motion: wait for this step's turn
                    wait = next_step_at - time.perf_counter()
                    if wait > 0:
                        k, last_flush = self._flush(buf, meta, k, marks), time.perf_counter()  # show the last step now
                        self._idle_visual()
                        self._wake.wait(min(wait, 0.25))
                        continue
                    next_step_at = max(next_step_at, time.perf_counter() - 0.05) + 1.0 / self.max_rate
                if self._started_at is None:
                    self._started_at = time.perf_counter()
                kind = req[0] if req else "both"
                try:
                    buf[k].copy_(tr.step(kind))
                except RuntimeError as exc:
                    if not is_out_of_memory(exc):
                        raise
                    self._out_of_memory(exc)
                    k = 0  # metrics of steps since the last flush are dropped with the failed step
                    if req is not None:
                        req[2]["error"] = RuntimeError(self.message)
                        req[1].set()
                        req = None
                    continue
                meta[k] = (tr.step_count, self._elapsed_now(time.perf_counter()))
                marks[k] = (kind, tr.last_updates, time.perf_counter())
                k += 1
                now = time.perf_counter()
                if req is not None or k == FLUSH_STEPS or now - last_flush > FLUSH_SECONDS:
                    k, last_flush = self._flush(buf, meta, k, marks), now
                    self._housekeeping(now)
                if req is not None or self.diagnostics.due(tr.step_count, self.config.train.metrics_every, now):
                    self._evaluate()
                if req is not None or (now < self._visual_wanted_until and now - self._visual_time > VISUAL_SECONDS):
                    with self._lock:
                        self._make_visual(now)
                self._refresh_generator_view(now)
                if req is not None:
                    req[1].set()
                req = None
                self._check_limits()
        except Exception as exc:  # surfaced on the page, never a traceback in the UI thread
            if is_out_of_memory(exc):  # in a picture or an evaluation: the run stays usable
                self._out_of_memory(exc)
            else:
                with self._lock:
                    self.state, self.message, self._running = "error", f"{type(exc).__name__}: {exc}", False
            if req is not None:
                self._requests.appendleft(req)
        finally:
            self._pause_clock()
            with self._lock:  # nobody waits forever on a request the loop will not serve
                while self._requests:
                    _, done, box = self._requests.popleft()
                    box["error"] = RuntimeError(self.message or f"run {self.id} was stopped")
                    done.set()

    def _run_job(self, req) -> None:
        job, done, box = req
        try:
            box["result"] = job(self.trainer)
        except Exception as exc:  # handed back to the caller's thread
            box["error"] = exc
        done.set()

    def _pause_clock(self) -> None:
        if self._started_at is not None:
            self._elapsed += time.perf_counter() - self._started_at
            self._started_at = None

    def _flush(self, buf: torch.Tensor, meta: np.ndarray, k: int, marks: list) -> int:
        if k == 0:
            return 0
        values = buf[:k].cpu().numpy().astype(np.float64)
        step, t = meta[k - 1]
        while len(self._rate) > 1 and t - self._rate[1][1] >= RATE_WINDOW_S:
            self._rate.popleft()  # keep the oldest point that is still >= RATE_WINDOW_S old
        step0, t0 = self._rate[0]
        if step < step0 or t < t0:  # a rollback or restore moved the clock back
            self._rate.clear()
            step0, t0 = step, t
        rate = (step - step0) / (t - t0) if t > t0 else np.nan
        rows = np.column_stack([meta[:k], values, np.full(k, rate),
                                np.full(k, rate * self.config.train.batch_size)])
        with self._lock:
            self.history.append(rows)
            self._rate.append((step, t))
            names = self.trainer.metric_names
            for j in range(max(0, k - ITERATIONS_KEPT), k):  # the newest iterations, for the model strip
                kind, updates, done_at = marks[j]
                self.iterations.append({"step": int(meta[j, 0]), "which": kind, "updates": updates,
                                        "done_at": done_at, "values": dict(zip(names, values[j].tolist()))})
            finite = values[:, STEP_METRICS.index("finite")] >= 1
            if not finite.all():
                bad = int(meta[int(np.argmin(finite)), 0])
                self._running, self.state = False, "paused"
                back = self.snapshots.latest_step
                self.diverged_at = bad
                self.message = (f"Training diverged at step {bad:,}: a loss became NaN or Inf, so the run "
                                "paused itself. " + (f"The last good snapshot is step {back:,}."
                                                     if back is not None else "No good snapshot was kept."))
            self._last_flush_finite = bool(finite.all())
        return 0

    def _housekeeping(self, now: float) -> None:
        """After a flush: keep a good snapshot and autosave when due (between steps, in the loop)."""
        if not self._last_flush_finite:
            return
        t = self.config.train
        if self.trainer.step_count - self.changed_at >= SNAPSHOT_GRACE_STEPS:
            self.snapshots.maybe_take(self.trainer, t.snapshot_every)
        due = t.autosave_minutes > 0 and now - self._last_save >= 60.0 * t.autosave_minutes
        if due and self.autosave_dir is not None and self.saved_step != self.trainer.step_count:
            try:
                self._save_now(self.autosave_dir)
            except OSError as exc:  # a full disk must not stop the lecture: say so and go on
                self._last_save = now
                with self._lock:
                    self.message = f"Autosave to {self.autosave_dir} failed: {exc}"

    def _out_of_memory(self, exc: BaseException) -> None:
        tr = self.trainer
        for opt in (tr.opt_g, tr.opt_d):
            opt.zero_grad(set_to_none=True)
        if tr.device.type == "cuda":
            torch.cuda.empty_cache()
        bs = self.config.train.batch_size
        with self._lock:
            self._running, self.state = False, "paused"
            self.message = (f"Out of memory on {tr.device} at batch size {bs:,} (step {tr.step_count:,}). "
                            f"Lower the batch size (try {max(1, bs // 2):,}) or use a smaller model, "
                            "then press Resume; the weights are unchanged.")

    def _evaluate(self) -> None:
        if not self.diagnostics.measures:
            return
        row = self.diagnostics.measure(self.trainer)
        with self._lock:
            self.evals.append(row)

    def _idle_visual(self) -> None:
        """While not stepping: draw the picture once for the current weights if a page wants it."""
        if time.perf_counter() < self._visual_wanted_until and self._visual_step != self.trainer.step_count:
            with self._lock:
                self._make_visual(time.perf_counter())

    def _make_visual(self, now: float) -> None:
        self._visual = make_visual(self.trainer)
        self._visual["step"] = self.trainer.step_count
        self._visual_step, self._visual_time = self.trainer.step_count, now

    def _check_limits(self) -> None:
        limit, step = self.config.train.max_steps, self.trainer.step_count
        if limit and step >= limit:
            with self._lock:
                self._running, self.state = False, "finished"
                self.message = f"Reached train.max_steps = {limit}."
        pause_at = self.pause_at
        if pause_at is not None and step >= pause_at:
            with self._lock:
                self.pause_at = None
                if self._running:
                    self._running, self.state = False, "paused"
                    self.message = f"Paused at step {step:,}, as asked."


TRAINING_NICENESS = 5  # the training thread yields the CPU to the page's threads and the browser


def _lower_priority() -> None:
    """Make this (training) thread a little nicer than the UI: on a 2-core laptop the browser and the
    Streamlit thread then answer a slider within the latency budget while training runs (bench/
    latent_latency.py); training loses little because the UI is idle most of the time. Linux only."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAINING_NICENESS)
    except (AttributeError, OSError):  # other systems: leave the priority alone
        pass


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or a CPU allocator failure (both RuntimeErrors)."""
    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom) or "out of memory" in str(exc).lower() or "can't allocate memory" in str(exc)
