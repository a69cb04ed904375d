"""A run folder another process can watch while this one trains: ``python -m gan_core train --out DIR``.

    DIR/checkpoint.safetensors, config.json, metrics.csv    the checkpoint (gan_core.checkpoint: atomic), written
                                                           every train.autosave_minutes and at the end
    DIR/live/status.json        twice a second, atomically: state, step, speed, newest metrics, alerts, the config,
                                and a heartbeat (the time it was written, the trainer's pid)
    DIR/live/history.csv        appended: the metric history, one line per stored row after a header
    DIR/live/evals.csv          appended: the evaluations (modes or classes covered), the same way
    DIR/live/visual.safetensors every few seconds, atomically: the picture the Train page draws (the 2D map or the
                                sample grid); its arrays as tensors, everything else as JSON in the metadata

Readers never see a torn file: JSON and safetensors files are replaced in one rename, and the CSV files are only
ever appended to, so at worst the last line is cut off by a kill mid-write (``LiveFolder`` skips it). Nothing here
unpickles anything. ``LiveFolder.read()`` returns what ``Run.snapshot()`` returns, so pages draw a watched run the
way they draw a local one.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .checkpoint import atomic_write
from .history import History
from .live_control import ControlReader

LIVE = "live"
FORMAT = 1
STATUS_SECONDS = 0.5  # twice per Watch page refresh (0.8 s): every refresh finds a newer step
VISUAL_SECONDS = 3.0
STALE_SECONDS = 10.0  # no heartbeat for this long while "running": the trainer is gone (killed, machine down)
STALE_ENV = "GAN_PLAYGROUND_LIVE_STALE_S"  # another limit (tests use a short one)
STATUS_KEYS = ("id", "state", "message", "step", "config", "config_version", "device", "latest", "elapsed",
               "lr_factor", "noise_std", "has_modes", "n_modes", "diag_kind", "n_classes", "class_hist", "alerts",
               "diverged_at", "path", "saved_step", "saved_at", "preset", "max_rate", "pause_at")


def _plain(value):
    """JSON-safe: numpy to Python, NaN/inf to None, dataclasses (health alerts) to dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


class LiveWriter:
    """Writes ``run``'s live files into ``out/live/`` from the thread that drives the run (the CLI's loop):
    ``tick()`` as often as convenient, ``close()`` at the end."""

    def __init__(self, out, run, status_every: float = STATUS_SECONDS, visual_every: float = VISUAL_SECONDS):
        self.dir = Path(out) / LIVE
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run = run
        self.status_every, self.visual_every = status_every, visual_every
        self._next_status = self._next_visual = 0.0
        self._written = {"history": -math.inf, "evals": -math.inf}  # newest step appended to each CSV
        self._visual_step = None
        self.control = ControlReader(self.dir)  # pause / resume / stop from the app (gan_core.live_control)
        self.held = False  # paused by such a command: the trainer waits (and keeps writing) until resumed
        self.controllable = False  # the CLI obeys those commands (not under torchrun) and sets this; in the status
        self.control_error: Optional[str] = None  # why the newest "set" command was refused (None: applied)
        for name in ("history", "evals"):  # a new run: new files (a resumed run starts its own history too)
            (self.dir / f"{name}.csv").unlink(missing_ok=True)

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now >= self._next_visual:
            self._next_visual = now + self.visual_every
            self._write_visual(self.run.snapshot(max_points=1, visual=True).get("visual"))
        if force or now >= self._next_status:
            self._next_status = now + self.status_every
            self._append("history", self.run.history)
            self._append("evals", self.run.evals)
            self._write_status()

    def close(self) -> None:
        self.tick(force=True)

    def _append(self, name: str, history) -> None:
        with self.run._lock:  # noqa: SLF001  (the loop appends under this lock)
            names = history.names
            rows = history.data[: history.n].copy()
        if not len(names) or "step" not in names:
            return
        col = names.index("step")
        rows = rows[rows[:, col] > self._written[name]]
        path = self.dir / f"{name}.csv"
        if not len(rows) and path.exists():
            return
        lines = [] if path.exists() else [",".join(names)]
        lines += [",".join("" if not np.isfinite(v) else repr(float(v)) for v in row) for row in rows]
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if len(rows):
            self._written[name] = float(rows[-1, col])

    def _write_status(self) -> None:
        snap = self.run.snapshot(max_points=1, visual=False)
        status = {k: snap.get(k) for k in STATUS_KEYS}
        status.update(format=FORMAT, heartbeat=time.time(), pid=os.getpid(), host=socket.gethostname(),
                      max_steps=self.run.config.train.max_steps, steps_per_s=snap["latest"].get("steps_per_s"),
                      held=self.held, control_seq=self.control.seq, controllable=self.controllable,
                      control_error=self.control_error)
        atomic_write(self.dir / "status.json", json.dumps(_plain(status), allow_nan=False).encode())

    def _write_visual(self, visual: Optional[dict]) -> None:
        if not visual or visual.get("step") == self._visual_step:
            return
        from safetensors.numpy import save
        arrays = {k: np.ascontiguousarray(v) for k, v in visual.items() if isinstance(v, np.ndarray)}
        rest = {k: _plain(v) for k, v in visual.items() if not isinstance(v, np.ndarray)}
        atomic_write(self.dir / "visual.safetensors", save(arrays, metadata={"visual": json.dumps(rest)}))
        self._visual_step = visual.get("step")


def _read_csv(path: Path, max_points: int) -> tuple[dict, int]:
    """Columns of an appended CSV as float32 arrays (at most ``max_points`` rows, bucket means, as the run's
    own history gives them) and the number of lines read; a torn or unreadable line ends the reading. One
    whole read, by the same parser as the incremental ``CsvTail``."""
    return CsvTail(path).read(max_points)


class CsvTail:
    """An appended CSV read incrementally: each ``read`` parses only the complete lines added since the last
    one (a reader that re-parsed a long history every second, per watching session, was the Watch page's
    cost). A file that shrank or was replaced (a new run in the folder) is read again from the start.
    Thread-safe: the sessions of one app share one tail per file (``tail_of``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, ident) -> None:
        self.ident, self.offset, self.names, self.hist, self.rows = ident, 0, None, None, 0
        self.broken = False  # a malformed complete line: nothing after it is read

    def read(self, max_points: int) -> tuple[dict, int]:
        with self._lock:
            try:
                st = self.path.stat()
            except OSError:
                self._reset(None)
                return {}, 0
            if (st.st_ino, st.st_dev) != self.ident or st.st_size < self.offset:
                self._reset((st.st_ino, st.st_dev))
            if st.st_size > self.offset and not self.broken:
                self._consume()
            if self.hist is None or not self.rows:
                return {}, 0
            return self.hist.view(max_points), self.rows

    def _consume(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return  # no complete line yet
        self.offset += end + 1
        lines = chunk[:end].decode("utf-8", errors="replace").split("\n")
        if self.names is None:
            self.names = tuple(lines[0].split(","))
            self.hist = History(self.names)
            lines = lines[1:]
        rows = []
        for line in lines:
            cells = line.split(",")
            try:
                if len(cells) != len(self.names):
                    raise ValueError(line)
                rows.append([float(c) if c else math.nan for c in cells])
            except ValueError:
                self.broken = True
                break
        if rows:
            self.hist.append(np.array(rows))
            self.rows += len(rows)


_TAILS: dict = {}
_TAILS_LOCK = threading.Lock()


def tail_of(path: Path) -> CsvTail:
    """The process's one incremental reader of ``path``."""
    key = str(Path(path).resolve())
    with _TAILS_LOCK:
        if key not in _TAILS:
            if len(_TAILS) > 256:  # folders come and go: forget the oldest readers
                _TAILS.pop(next(iter(_TAILS)))
            _TAILS[key] = CsvTail(Path(path))
        return _TAILS[key]


class LiveFolder:
    """Reads a folder that ``LiveWriter`` writes (``DIR`` or ``DIR/live``)."""

    def __init__(self, folder):
        folder = Path(folder)
        self.root = folder.parent if folder.name == LIVE else folder
        self.dir = self.root / LIVE

    @staticmethod
    def is_live(folder) -> bool:
        folder = Path(folder)
        return (folder / LIVE / "status.json").is_file() or (folder / "status.json").is_file() and folder.name == LIVE

    def status(self) -> dict:
        try:
            status = json.loads((self.dir / "status.json").read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.root} is not a live run folder (no {LIVE}/status.json: start one "
                                    "with `python -m gan_core train --out DIR`)") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.dir / 'status.json'} cannot be read: {exc}") from None
        if not isinstance(status, dict) or status.get("format") != FORMAT:
            raise ValueError(f"{self.dir / 'status.json'} is not a live status of format {FORMAT}")
        return status

    def at_work(self, now: Optional[float] = None) -> bool:
        """Whether the folder's trainer is at work now: it trains, or waits paused by a command, and its heartbeat
        is fresh (see ``aged``). Raises like ``status``."""
        status = self.status()
        return bool(self.aged({**status, "written_state": status.get("state")}, now)["live"])

    def visual(self) -> Optional[dict]:
        from safetensors import safe_open
        path = self.dir / "visual.safetensors"
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="numpy") as f:
                out = json.loads((f.metadata() or {}).get("visual", "{}"))
                for key in f.keys():
                    out[key] = f.get_tensor(key)
        except (OSError, ValueError, RuntimeError):  # replaced while opening it: the next read gets the new one
            return None
        if isinstance(out.get("rows"), list):
            out["rows"] = tuple(out["rows"])
        return out

    def read(self, max_points: int = 2000, now: Optional[float] = None) -> dict:
        """A snapshot like ``Run.snapshot()``, plus ``heartbeat_age`` (seconds) and ``live`` (the trainer is
        writing: its state is "running" and its heartbeat is fresh). A trainer that stopped writing while it
        said "running" is shown as "stopped" with a message saying since when."""
        return self.aged(self.content(max_points), now)

    def signature(self) -> tuple:
        """Changes whenever what ``content`` returns may have changed (sizes and modification times)."""
        out = [str(self.dir.resolve())]
        for name in ("status.json", "history.csv", "evals.csv", "visual.safetensors"):
            try:
                st = (self.dir / name).stat()
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append(None)
        return tuple(out)

    def content(self, max_points: int = 2000) -> dict:
        """What the files say, without the reader's clock (one copy can serve every watching session)."""
        s = self.status()
        snap = dict(s)
        snap["history"], _ = tail_of(self.dir / "history.csv").read(max_points)
        snap["evals"], _ = tail_of(self.dir / "evals.csv").read(max_points)
        snap["latest"] = {k: (math.nan if v is None else v) for k, v in (s.get("latest") or {}).items()}
        if s.get("class_hist") is not None:
            snap["class_hist"] = np.asarray(s["class_hist"], dtype=np.float64)
        snap["visual"] = self.visual()
        from .health import Alert
        snap["alerts"] = [Alert(**a) for a in s.get("alerts") or [] if isinstance(a, dict)]
        snap.setdefault("iterations", [])
        snap.update(unsaved_steps=0, rollback_step=None, watched=str(self.root), written_state=s.get("state"))
        return snap

    @staticmethod
    def aged(content: dict, now: Optional[float] = None) -> dict:
        """``content`` (not changed) as seen at ``now``: heartbeat age, live, and "stopped" when the trainer said
        "running" but stopped writing."""
        now = time.time() if now is None else now
        age = max(0.0, now - float(content.get("heartbeat") or 0.0))
        snap = dict(content)
        state = content.get("written_state")
        waiting = state == "running" or (state == "paused" and content.get("held"))  # a held trainer writes on
        snap["heartbeat_age"] = age
        snap["live"] = waiting and age < float(os.environ.get(STALE_ENV) or STALE_SECONDS)
        snap["state"], snap["message"] = state, content.get("message")
        if waiting and not snap["live"]:
            snap["state"] = "stopped"
            snap["message"] = (f"The trainer (pid {content.get('pid')} on {content.get('host')}) stopped writing "
                               f"{age:.0f} s ago at step {content.get('step'):,}: killed, or its machine is down.")
        return snap
