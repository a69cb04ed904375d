"""Page layout for a projector: compact spacing so the Train page's controls, numbers, picture and charts
fit one 1280x720 screen, and a presentation mode (``?present=1`` or the toggle) that hides the header and
navigation, enlarges chart text (>= 16 px) and gives the picture the room.

Sizes are CSS pixels. ``PictureSize`` says how tall the live picture and charts are drawn; it is chosen
from the mode, since the server does not know the browser's window size (both sizes fit 1280x720).
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

PRESENT_PARAM = "present"


@dataclass(frozen=True)
class Look:
    """How big things are drawn in this mode."""
    present: bool
    picture_px: int  # height of the data-space picture / sample grid
    charts_px: int  # height of the stacked training charts beside it
    font_px: int  # chart text
    title_px: int  # chart panel titles
    charts_width: int  # plot width of the training charts (legends go to their right)


NORMAL = Look(False, 455, 520, 13, 14, 450)
PRESENT = Look(True, 503, 565, 16, 18, 410)


def presenting() -> bool:
    """Presentation mode is on for this session (``?present=1`` in the URL or the toggle)."""
    if "present_toggle" not in st.session_state:
        st.session_state["present_toggle"] = st.query_params.get(PRESENT_PARAM) in ("1", "true", "yes")
    return bool(st.session_state["present_toggle"])


def look() -> Look:
    return PRESENT if presenting() else NORMAL


def _toggled() -> None:
    if st.session_state.get("present_toggle"):
        st.query_params[PRESENT_PARAM] = "1"
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]


def present_toggle(container=None) -> None:
    """The switch in and out of presentation mode (keeps ``?present=1`` in the URL in step)."""
    presenting()
    (container or st).toggle("Present", key="present_toggle", on_change=_toggled,
                             help="Presentation mode: no header or navigation, bigger chart text, the picture "
                                  "as large as the screen allows. Also ?present=1 in the URL.")


_BASE_CSS = """
<style>
/* room for the live view: less padding around the page, smaller gaps */
[data-testid="stMainBlockContainer"] { padding-top: 3.9rem; padding-bottom: 1rem;
  padding-left: 1.25rem; padding-right: 1.25rem; max-width: 100%; }
[data-testid="stMetric"] { padding: 0; }
[data-testid="stMetricValue"] { font-size: 1.55rem; line-height: 1.2; }
[data-testid="stMetricLabel"] { min-height: 0; }
/* the "running" indicator flickers with every live refresh: the live view itself shows that it runs */
[data-testid="stStatusWidget"] { visibility: hidden; }
/* a live refresh marks the old picture "stale" until the new one arrives: keep it at full strength */
[data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; transition: none !important; }
</style>
"""

_PRESENT_CSS = """
<style>
header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 0.6rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; }
</style>
"""


def apply_css() -> None:
    """The page CSS for the current mode (call once per script run, on every page); keeps ``?present=1``
    in the URL in step with the toggle, so a copied link or a refresh keeps the mode."""
    on = presenting()
    if on != (st.query_params.get(PRESENT_PARAM) in ("1", "true", "yes")):
        _toggled()
    st.html(_BASE_CSS + (_PRESENT_CSS if on else ""))
