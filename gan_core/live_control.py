"""Remote control of a ``train --out DIR`` run: the app (its presenter, or the local user) writes
``DIR/live/control.json`` and the trainer, which reads it between its live-file writes, pauses, resumes or
stops (saving its checkpoint), or changes live hyperparameters ("set", with ``values``: what ``Run.set`` takes;
the trainer reports a refused change as ``control_error``). The file holds one command with a sequence number;
each number is obeyed once, and the trainer reports the newest one it obeyed in its status (``control_seq``),
so the app knows it was heard. A "set" carries every change the app has not yet seen obeyed, so a command
overwritten before the trainer read it loses nothing.

Only this machine's user and the app can write the folder: a viewer of the app reaches it only through the
app's presenter check (ui/handoff.py)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from .checkpoint import atomic_write

CONTROL = "control.json"
ACTIONS = ("pause", "resume", "stop", "set")
MAX_VALUES = 64  # settings in one "set" command (there are about 20 live ones)


def _values_ok(values) -> bool:
    """A "set" command's values: a small dict of setting names to plain numbers, strings or booleans."""
    return (isinstance(values, dict) and 0 < len(values) <= MAX_VALUES
            and all(isinstance(k, str) and len(k) <= 64 for k in values)
            and all(isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= 200)
                    for v in values.values()))


def _path(folder) -> Path:
    folder = Path(folder)
    return folder / CONTROL if folder.name == "live" else folder / "live" / CONTROL


def _read(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_bytes()[:4096])
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("seq"), int) and data.get("action") in ACTIONS
    if ok and data["action"] == "set":
        ok = _values_ok(data.get("values"))
    return data if ok else None


def _obeyed(live_dir: Path) -> int:
    """The newest command number the folder's trainer reports it obeyed (0 when unknown)."""
    try:
        seq = json.loads((live_dir / "status.json").read_bytes()[:1_000_000]).get("control_seq")
    except (OSError, ValueError, AttributeError):
        return 0
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else 0


def send(folder, action: str, values: Optional[dict] = None) -> int:
    """Write one command for the trainer of ``folder`` (``DIR`` or ``DIR/live``); returns its number. "set"
    takes ``values`` ({setting: value}); the others take none."""
    if action not in ACTIONS:
        raise ValueError(f"action = {action!r} is not one of {list(ACTIONS)}")
    if action == "set" and not _values_ok(values):
        raise ValueError(f"action 'set' needs a dict of at most {MAX_VALUES} settings to plain values")
    if action != "set" and values is not None:
        raise ValueError(f"action {action!r} needs no values")
    path = _path(folder)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent} is not a live run folder (no trainer writes there)")
    last = _read(path)
    seq = max(last["seq"] if last else 0, _obeyed(path.parent)) + 1  # above what the trainer obeyed, even if the
    # file was damaged or removed since (the trainer would take a lower number for an old command)
    command = {"seq": seq, "action": action, "time": time.time()}
    if values is not None:
        command["values"] = values
    atomic_write(path, json.dumps(command).encode())
    return seq


class ControlReader:
    """The trainer's side: ``poll()`` gives each new command once. A command already in the folder when the
    trainer starts (left by an earlier trainer) is not obeyed."""

    def __init__(self, folder):
        self.path = _path(folder)
        old = _read(self.path)
        self.seq = old["seq"] if old else 0
        self.values: Optional[dict] = None  # the newest "set" command's values
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
        self.values = data.get("values") if data["action"] == "set" else None
        return data["action"]
