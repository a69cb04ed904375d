"""Draw your own data: the drawing panel of Setup → Data for the dataset "drawn" (and CycleGAN's domain A).

A canvas (``st.components.v2``, inline JS in ``ui/draw_canvas.js``: nothing is downloaded) where a click
places a point and a drag records a stroke, beside Undo, Clear, a few starter shapes, the point count and
the jitter. The drawing is this session's draft (``st.session_state["_draw"]``): it survives page switches
and closing the dialog, and becomes a run's ``data.points`` only through Setup's "Start new run" (a new
run; nothing is overwritten). Opening Setup loads the attached run's points unless the draft holds
unapplied edits. Every change checks ``ui.lecture.refuse()`` on the server, and whatever the canvas sends
is validated here (a forged payload is bounded and clipped like any input).
"""
from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from gan_core.config import MAX_POINTS, POINT_BOX
from gan_core.data.drawn import DECIMALS, SPACING, STARTERS, drawing_fit, fit_radius, starter_strokes
from ui.charts import COLORS
from ui.lecture import can_control, refuse
from ui.text import plural

DRAFT = "_draw"
CANVAS_KEY = "setup_draw_canvas"
CANVAS_PX = 380  # with the dialog's header and tabs, fits a 1280x720 screen
HISTORY = 50  # undo steps kept
CLIENTS = 16  # canvases (page loads) whose last applied stroke is remembered

_canvas = st.components.v2.component(
    "gan_playground_draw",
    html='<div class="draw-root"><canvas class="draw-canvas" role="img" '
         'aria-label="Drawing canvas: click to place a point, drag to draw a stroke"></canvas></div>',
    css=".draw-canvas{display:block;touch-action:none;cursor:crosshair;border:1px solid rgba(49,51,63,.2);"
        "border-radius:.5rem}",
    js=(Path(__file__).with_name("draw_canvas.js")).read_text(encoding="utf-8"),
)


# ---------------------------------------------------------------- the draft (plain data, testable)

def new_draft(points=()) -> dict:
    """A draft holding ``points`` as one stroke (or nothing)."""
    return {"strokes": [list(map(tuple, points))] if len(points) else [], "history": [], "edited": False,
            "seen": {}, "note": ""}


def flat(draft: dict) -> tuple:
    return tuple(p for s in draft["strokes"] for p in s)


def _push(draft: dict) -> None:
    draft["history"] = (draft["history"] + [[list(s) for s in draft["strokes"]]])[-HISTORY:]
    draft["edited"] = True


def _clean_point(p):
    """A canvas point as a rounded (x, y) pair inside the box, or None when it is not two finite numbers."""
    if not isinstance(p, (list, tuple)) or len(p) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in p):
        return None
    return tuple(round(min(max(float(v), -POINT_BOX), POINT_BOX), DECIMALS) for v in p)


def apply_strokes(draft: dict, payload) -> int:
    """Add the strokes of a canvas payload ``{"client": id, "strokes": [{"seq": n, "points": [[x, y], ...]}]}``
    that this draft has not applied yet (by sequence number per client), in order, up to ``MAX_POINTS`` in
    all; malformed parts are skipped. Returns the number of points added."""
    if not isinstance(payload, dict) or not isinstance(payload.get("client"), str) or not isinstance(
            payload.get("strokes"), list):
        return 0
    client = payload["client"][:32]
    seen = draft["seen"].get(client, 0)
    added, total = 0, len(flat(draft))
    strokes = [s for s in payload["strokes"][:64] if isinstance(s, dict) and isinstance(s.get("seq"), int)
               and not isinstance(s.get("seq"), bool) and s["seq"] > seen and isinstance(s.get("points"), list)]
    for stroke in sorted(strokes, key=lambda s: s["seq"]):
        pts = [q for q in (_clean_point(p) for p in stroke["points"][:MAX_POINTS]) if q is not None]
        pts = pts[:MAX_POINTS - total]
        if pts:
            _push(draft)
            draft["strokes"].append(pts)
            total += len(pts)
            added += len(pts)
        seen = stroke["seq"]
    draft["note"] = f"The drawing holds the most points allowed ({MAX_POINTS:,})." if total >= MAX_POINTS else ""
    draft["seen"] = {**{k: v for k, v in draft["seen"].items() if k != client}, client: seen}
    draft["seen"] = dict(list(draft["seen"].items())[-CLIENTS:])
    return added


def undo(draft: dict) -> None:
    if draft["history"]:
        draft["strokes"] = draft["history"].pop()
        draft["edited"] = True
        draft["note"] = ""


def clear(draft: dict) -> None:
    if draft["strokes"]:
        _push(draft)
        draft["strokes"] = []
        draft["note"] = ""


def use_starter(draft: dict, name: str) -> None:
    _push(draft)
    draft["strokes"] = [list(s) for s in starter_strokes(name)]
    draft["note"] = ""


# ---------------------------------------------------------------- session state and widgets

def draft() -> dict:
    return st.session_state.setdefault(DRAFT, new_draft())


def draft_points() -> tuple:
    return flat(draft())


def load(points, force: bool = False, edited: bool = False) -> None:
    """Start the draft from ``points`` (a run's, a preset's or a loaded config's) unless it holds edits
    not trained on yet (``force``: even then; Undo brings the old drawing back)."""
    d = draft()
    if d["edited"] and not force:
        return
    if flat(d) != tuple(map(tuple, points)):
        if d["strokes"]:
            _push(d)
        d["strokes"] = [list(map(tuple, points))] if len(points) else []
        d["note"] = ""
    d["edited"] = edited


def applied() -> None:
    """The draft is now a run's data: later page loads may replace it with the run's points."""
    draft()["edited"] = False


def _on_strokes() -> None:
    if refuse():
        return
    try:
        payload = st.session_state[CANVAS_KEY]["strokes"]
    except (KeyError, TypeError):
        return
    apply_strokes(draft(), payload)


def _act(action, *args) -> None:
    if refuse():
        return
    action(draft(), *args)


def draw_panel(applied_points=()):
    """The canvas and, beside it, its controls; returns an empty container at the top of the controls'
    column (Setup puts the dataset choice there). ``applied_points`` are the attached run's, to say whether
    the drawing differs from what it trains on."""
    d = draft()
    points = flat(d)
    viewer = not can_control()
    panel = st.container(horizontal=True, gap="large")
    with panel:
        _canvas(key=CANVAS_KEY, on_strokes_change=_on_strokes, width=CANVAS_PX + 2, height=CANVAS_PX + 2,
                data={"points": [list(p) for p in points], "seen": d["seen"], "size": CANVAS_PX,
                      "box": POINT_BOX, "spacing": SPACING, "max": MAX_POINTS, "color": COLORS["real"]})
        right = st.container()
    with right:
        top = st.container()
        st.markdown(f"**{plural(len(points), 'point')}** in {plural(len(d['strokes']), 'stroke')}")
        st.caption(f"Click to place a point, drag to draw a stroke (a point every {SPACING:g}). The canvas spans "
                   f"−{POINT_BOX:g} to {POINT_BOX:g} on both axes. Training picks drawn points at random and adds "
                   "Gaussian jitter (the std below the canvas).")
        row = st.container(horizontal=True, gap="small")
        row.button("Undo", key="btn_draw_undo", icon=":material/undo:", on_click=_act, args=(undo,),
                   disabled=viewer or not d["history"])
        row.button("Clear", key="btn_draw_clear", icon=":material/delete:", on_click=_act, args=(clear,),
                   disabled=viewer or not points)
        st.caption("Start from a shape (replaces the drawing; Undo brings it back):")
        shapes = st.container(horizontal=True, gap="small")
        for name, (label, _) in STARTERS.items():
            shapes.button(label, key=f"btn_draw_{name}", on_click=_act, args=(use_starter, name), disabled=viewer)
        if d["note"]:
            st.warning(d["note"], icon=":material/block:")
        elif points and tuple(points) != tuple(map(tuple, applied_points)):
            st.caption(":orange[Not trained on yet: **Start new run** trains a new run on this drawing.]")
    return top


def drawing_fit_panel(run, n: int = 2500) -> None:
    """Diagnostics for a drawing (it has no modes to count): how much of G's output lies on the drawing and
    how much of the drawing G reaches, on ``n`` samples of the run's current generator."""
    import torch
    view = run.generator_view()
    d = run.config.data
    fake = view.generate(view.inputs(n, torch.Generator().manual_seed(5)))
    on, covered = drawing_fit(fake, d.points, d.point_std)
    radius = fit_radius(d.point_std)
    c = st.columns(3)
    c[0].metric("On the drawing", f"{on:.0%}", help=f"Generated points within {radius:g} of a drawn point (of {n:,}).")
    c[1].metric("Drawing covered", f"{covered:.0%}",
                help=f"Drawn points with a generated point within {radius:g} (of {len(d.points):,}).")
    c[2].metric("Measured at step", f"{view.step:,}")
    st.caption(f"A drawing has no modes to count. Instead: the share of {n:,} generated points within {radius:g} "
               f"(3 × the jitter std {d.point_std:g}) of a drawn point, and the share of the {len(d.points):,} drawn "
               "points that have a generated point that near. A G that collapses onto part of the drawing scores "
               "high on the first and low on the second.")
