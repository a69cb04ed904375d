"""Copy link: a URL that rebuilds the attached run's settings (its preset plus every field that differs
from it), e.g. ``http://localhost:8501/?preset=ring8&loss=minimax&lr_g=0.01``. Opening it builds a new run
with fresh weights from those settings (``ui.runs``: settings in the URL), validated like every input.
"""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from gan_core.config import points_text
from gan_core.presets import PRESETS, preset_config

FALLBACK_BASE = "http://localhost:8501/"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):  # drawn points: x1,y1;x2,y2;...
        return points_text(value)
    return repr(value) if isinstance(value, float) else str(value)


def settings_query(config, preset: str | None) -> str:
    """``preset=<name>&field=value...`` for the fields of ``config`` that differ from the preset."""
    name = preset if preset in PRESETS else "ring8"
    base = preset_config(name).flat()
    changed = {k: _text(v) for k, v in config.flat().items() if v != base[k]}
    return urlencode({"preset": name, **changed})


def base_url() -> str:
    """The app's address as this browser sees it (scheme, host, port), ending in "/"."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001  (no browser context, e.g. under AppTest)
        url = None
    if not url:
        return FALLBACK_BASE
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else FALLBACK_BASE


def run_link(run) -> str:
    return f"{base_url()}?{settings_query(run.config, run.preset)}"


def link_panel(run) -> None:
    st.markdown("**Link to these settings**")
    link = run_link(run)
    st.code(link, language=None, wrap_lines=True, height=160 if len(link) > 600 else "content")  # a drawing's
    # points make a long link: the box scrolls
    st.caption("Opening it builds a new run with fresh weights from these settings (preset + changes). "
               "Copy it with the icon at the right of the box.")
