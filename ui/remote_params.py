"""Live hyperparameters of a trainer in its own process (the Watch page): the same widgets as the Train page's
(ui.live_params), but a change becomes a "set" command in ``DIR/live/control.json`` (gan_core.live_control) that
the trainer obeys at once; the widgets show the settings of the trainer's newest status, with this session's
changes that it has not yet reported on top (so a widget never jumps back while the command travels).

The presenter (or the local user) only: ``ui.live_params`` disables the widgets for a viewer and its callback
refuses one on the server; a change is validated here before it is sent, and again by the trainer."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import streamlit as st

from gan_core.config import Config, live_changes
from gan_core.live_control import send

_PENDING = "_remote_pending"  # session: folder -> {"seq": n, "values": {...}} not yet reported obeyed


class RemoteRun:
    """What ``ui.live_params.live_hyperparameters`` needs of a run, for the trainer writing ``folder``."""

    def __init__(self, folder: Path, snap: dict):
        self.folder = str(folder)
        self.config = Config.from_dict(snap["config"])
        self._factor = float(snap.get("lr_factor") or 1.0)
        pending = st.session_state.setdefault(_PENDING, {}).get(self.folder)
        if pending is not None:
            if int(snap.get("control_seq") or 0) >= pending["seq"]:  # heard: the status tells the truth now
                st.session_state[_PENDING].pop(self.folder, None)
                if snap.get("control_error"):
                    st.session_state["_live_error"] = f"The trainer refused the change: {snap['control_error']}"
            else:
                try:
                    self.config = self.config.replace(**pending["values"])
                except ValueError:
                    st.session_state[_PENDING].pop(self.folder, None)

    @property
    def trainer(self) -> "RemoteRun":  # (live_params reads the schedule's factor as run.trainer.lr_factor())
        return self

    def lr_factor(self) -> float:
        return self._factor

    def set(self, **changes) -> Config:
        """Validate ``changes`` as Run.set does, then send them (with any not yet obeyed) to the trainer."""
        names = live_changes(changes)
        new = self.config.replace(**names)  # a bad value raises, naming the field and its range
        pending = st.session_state.setdefault(_PENDING, {}).get(self.folder)
        values = {**(pending["values"] if pending else {}), **names}
        try:
            seq = send(self.folder, "set", values=values)
        except OSError as exc:
            raise ValueError(f"could not reach the trainer: {exc}") from None
        st.session_state[_PENDING][self.folder] = {"seq": seq, "values": values}
        self.config = new
        return new


def locked_reason(snap: dict) -> Optional[str]:
    """Why the trainer's settings cannot be changed from here (None when they can)."""
    if not snap.get("controllable"):
        return ("This trainer takes no commands (a torchrun run, or one from an older version): its settings are "
                "shown, not changed.")
    if not snap.get("live"):
        return "The trainer is not running: its settings are shown as it last wrote them."
    return None
