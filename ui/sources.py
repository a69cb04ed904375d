"""Choosing a saved checkpoint: folders under runs/ (or any path) holding checkpoint.safetensors."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from gan_core.checkpoint import WEIGHTS_FILE, CheckpointError, generator_from_checkpoint, list_checkpoints
from ui.lecture import can_control
from ui.runs import runs_dir
from ui.text import plain

def saved_checkpoints(root: Path | None = None) -> list[Path]:
    """Checkpoint folders under ``root`` (default: the runs folder), newest first."""
    return [e["path"] for e in list_checkpoints(runs_dir() if root is None else root)]


@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint's generator…")
def _cached_generator(path: str, mtime: float):
    return generator_from_checkpoint(path)


def checkpoint_picker():
    """Widgets to pick a checkpoint; returns (get_view, source_key) or None after showing why not."""
    found = saved_checkpoints()
    # Another path reads any file the server can: only for the local user or the presenter (lecture mode)
    options = [str(p) for p in found] + (["other path…"] if can_control() else [])
    choice = st.selectbox("Checkpoint", options, key="ckpt_pick",
                          help=f"Folders under {runs_dir()}/ with a {WEIGHTS_FILE}; save one from the Train page.")
    if choice is None:
        st.info("No checkpoint yet: press **Save** on the Train page.")
        return None
    path = st.text_input("Checkpoint folder", key="ckpt_path") if choice == "other path…" else choice
    if not path:
        st.info("No checkpoint yet: press **Save checkpoint** on the Train page, or give a folder.")
        return None
    file = Path(path) / WEIGHTS_FILE if Path(path).is_dir() else Path(path)
    try:
        view = _cached_generator(str(path), file.stat().st_mtime if file.exists() else 0.0)
    except (CheckpointError, OSError, ValueError) as exc:
        st.error(plain(exc))
        return None
    return (lambda: view), f"ckpt:{path}:{view.step}"
