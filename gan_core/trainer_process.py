"""A run trained by a process of its own: ``python -m gan_core train --resume DIR --out DIR`` started from the app
(the Train page's "Train in its own process"), so that a class watching it costs the server's sessions, not the
training (one Python process serves all of them, and its threads share one interpreter lock; see
docs/BENCHMARKS.md, "a whole class watching"). The process writes ``DIR/live/`` (gan_core.live_folder), obeys
``DIR/live/control.json`` (gan_core.live_control) and logs to ``DIR/train.log``."""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Optional

LOG = "train.log"
ROOT = Path(__file__).resolve().parent.parent  # the folder holding the gan_core package
UNLIMITED_STEPS = 10_000_000  # a run with no max_steps trains until it is stopped
PARENT_ENV = "GAN_PLAYGROUND_PARENT_PID"  # set for a trainer the app started: the app's pid


def orphaned() -> bool:
    """In a trainer the app started: True once the app is gone (this process was handed to another parent)."""
    parent = os.environ.get(PARENT_ENV, "")
    return parent.isdigit() and os.getppid() != int(parent)

_PROCS: dict[str, subprocess.Popen] = {}  # resolved folder -> the trainer this process started there
_LOCK = threading.Lock()


def command(folder: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "gan_core", "train", "--resume", str(folder), "--out", str(folder),
            "--steps", str(int(steps))]


def launch(folder, steps: int) -> subprocess.Popen:
    """Train the checkpoint in ``folder`` for ``steps`` more steps in a new process that writes back into
    ``folder``. Raises RuntimeError when a trainer this process started there is still alive."""
    folder = Path(folder).resolve()
    if not 1 <= steps <= UNLIMITED_STEPS:
        raise ValueError(f"steps = {steps} must be in [1, {UNLIMITED_STEPS:,}]")
    key = str(folder)
    with _LOCK:
        old = _PROCS.get(key)
        if old is not None and old.poll() is None:
            raise RuntimeError(f"a trainer (pid {old.pid}) is still training {folder}")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env[PARENT_ENV] = str(os.getpid())  # the trainer saves and stops if this app dies (even by SIGKILL)
        with open(folder / LOG, "ab") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(command(folder, steps), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not _PROCS:
            atexit.register(stop_all)  # the app's exit stops its trainers (each saves its checkpoint first)
        _PROCS[key] = proc
    return proc


def process_of(folder) -> Optional[subprocess.Popen]:
    """The trainer this process started in ``folder`` (alive or not), or None."""
    with _LOCK:
        return _PROCS.get(str(Path(folder).resolve()))


def alive(folder) -> bool:
    proc = process_of(folder)
    return proc is not None and proc.poll() is None  # poll() also reaps a finished child


def log_tail(folder, lines: int = 12) -> str:
    """The last lines of the trainer's log (what it printed before it stopped, e.g. an error)."""
    try:
        data = (Path(folder) / LOG).read_bytes()[-8192:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def stop_all(timeout: float = 10.0) -> None:
    """Ask every trainer this process started to stop (each saves its checkpoint) and wait for them."""
    from .live_control import send
    with _LOCK:
        procs = dict(_PROCS)
    for folder, proc in procs.items():
        if proc.poll() is None:
            try:
                send(folder, "stop")
            except OSError:
                proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
