"""Remote control of a ``train --out DIR`` run: the app (its presenter, or the local user) writes
``DIR/live/control.json`` and the trainer, which reads it between its live-file writes, pauses, resumes or
stops (saving its checkpoint). The file holds one command with a sequence number; each number is obeyed once,
and the trainer reports the newest one it obeyed in its status (``control_seq``), so the app knows it was heard.

Only this machine's user and the app can write the folder: a viewer of the app reaches it only through the
app's presenter check (ui/handoff.py)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from .checkpoint import atomic_write

CONTROL = "control.json"
ACTIONS = ("pause", "resume", "stop")


def _path(folder) -> Path:
    folder = Path(folder)
    return folder / CONTROL if folder.name == "live" else folder / "live" / CONTROL


def _read(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_bytes()[:4096])
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("seq"), int) and data.get("action") in ACTIONS
    return data if ok else None


def send(folder, action: str) -> int:
    """Write one command for the trainer of ``folder`` (``DIR`` or ``DIR/live``); returns its number."""
    if action not in ACTIONS:
        raise ValueError(f"action = {action!r} is not one of {list(ACTIONS)}")
    path = _path(folder)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent} is not a live run folder (no trainer writes there)")
    last = _read(path)
    seq = (last["seq"] if last else 0) + 1
    atomic_write(path, json.dumps({"seq": seq, "action": action, "time": time.time()}).encode())
    return seq


class ControlReader:
    """The trainer's side: ``poll()`` gives each new command once. A command already in the folder when the
    trainer starts (left by an earlier trainer) is not obeyed."""

    def __init__(self, folder):
        self.path = _path(folder)
        old = _read(self.path)
        self.seq = old["seq"] if old else 0
        self._mtime = None

    def poll(self) -> Optional[str]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return None
        if mtime == self._mtime:
            return None
        self._mtime = mtime
        data = _read(self.path)
        if data is None or data["seq"] <= self.seq:
            return None
        self.seq = data["seq"]
        return data["action"]
