"""The class round of the Turing test (lecture mode): the presenter opens one image at a time, every viewer
votes real or fake on it, and the presenter reveals it with the class's fool rate.

Rounds live in the run's folder (``gan_core.turing.ClassRound``), so votes are kept with the run and come back
after a restart; this module holds the open round of each run for all sessions of the process. A vote counts
once per session (``ClassRound.vote`` refuses a second one, whatever the client sends), is bound to the image
it was cast on (a click that arrives after the presenter moved on counts nothing), and only the presenter's
session can start, reveal, move on or end a round (``ui.lecture.refuse`` on the server). Before a viewer
voted, their page holds the image and two buttons, whatever the answer is.
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np
import streamlit as st

from gan_core.turing import ClassRound
from ui.charts import upscale
from ui.lecture import can_control, refuse
from ui.turing_view import COLUMNS, IMAGE_PX, SIZES, make_items, session_id, show_image, source_picker, vote_buttons

_ROUNDS: dict = {}  # run id -> the run's newest ClassRound (or None: looked, none on disk)
_LOCK = threading.Lock()
CLASS_SIZES = (6, 10, 20)


def class_round(run) -> Optional[ClassRound]:
    """The run's newest class round (from its folder the first time it is asked for)."""
    with _LOCK:
        if run.id not in _ROUNDS:
            _ROUNDS[run.id] = ClassRound.newest(run.autosave_dir)
        return _ROUNDS[run.id]


def forget_rounds() -> None:
    """Drop what is held in memory (tests; the rounds stay on disk)."""
    with _LOCK:
        _ROUNDS.clear()


def _start(run, get_view, get_data) -> None:
    if refuse():
        return
    n = int(st.session_state.get("turing_class_n", CLASS_SIZES[1]))
    made = make_items(get_view, get_data, n, int(np.random.default_rng().integers(0, 2**31 - 1)))
    if made is None:
        return
    step, items = made
    try:
        new = ClassRound.create(run.autosave_dir, items, step, run.id)
    except OSError as exc:
        st.session_state["_action_error"] = f"The round could not be saved in {run.autosave_dir}: {exc}"
        return
    with _LOCK:
        _ROUNDS[run.id] = new


def _control(run, action: str) -> None:
    if refuse():
        return
    r = class_round(run)
    if r is None:
        return
    {"reveal": r.reveal, "next": r.next, "finish": r.finish}[action]()


def _vote(run, round_id: str, item_id: str, answer: str) -> None:
    r = class_round(run)
    if r is None or r.id != round_id:
        st.session_state["_turing_note"] = "That round is over."
        return
    result = r.vote(item_id, session_id(), answer)
    st.session_state["_turing_note"] = {
        "counted": "", "already": "You already voted on this image: your first vote counts.",
        "closed": "Voting on that image has closed.", "bad": ""}[result]


def class_panel(run) -> None:
    """The class round: the presenter's controls, or a viewer's ballot (refreshed every second)."""
    if can_control():
        _presenter(run)
    else:
        _viewer_fragment(run)


# ---- presenter --------------------------------------------------------------------------------------------
def _presenter(run) -> None:
    r = class_round(run)
    if r is None or r.finished:
        if r is not None:
            _results(r)
        with st.expander("Start a class round", expanded=r is None, icon=":material/groups:"):
            picked = source_picker(run)
            if picked is None:
                return
            get_view, get_data, _ = picked
            st.selectbox("Images in the round", CLASS_SIZES, key="turing_class_n", index=1,
                         help="Half real, half generated, in random order. You open one at a time; every viewer "
                              "votes on it; you reveal it and move on.")
            st.button("Start the class round", key="turing_class_start", icon=":material/play_arrow:",
                      type="primary", on_click=_start, args=(run, get_view, get_data))
        return
    _presenter_live(run)


@st.fragment(run_every=1.0)
def _presenter_live(run) -> None:
    r = class_round(run)
    if r is None or r.finished:  # ended here or in another tab: the results and the next round's form
        st.rerun()
    i, item = r.index, r.current()
    t = r.tally(i)
    left, right = st.columns(COLUMNS)
    with left:
        show_image(item.image)
    with right:
        st.markdown(f"### Image {i + 1} of {len(r.items)}")
        st.metric("Votes", f"{t['n']:,}", help="One per viewer session; the class votes from its own screens.")
        peek = st.toggle("Show the answer and tally before revealing (a screen the class cannot see)",
                         key="turing_peek")
        if r.revealed or peek:
            _tally_line(item.truth, t)
        else:
            st.caption("The answer and the split of the votes appear when you reveal the image.")
        a, b, c = st.columns(3)
        if not r.revealed:
            a.button("Reveal", key="turing_reveal", icon=":material/visibility:", type="primary",
                     on_click=_control, args=(run, "reveal"), width="stretch")
        else:
            last = i + 1 >= len(r.items)
            a.button("Finish the round" if last else "Next image", key="turing_next", type="primary",
                     icon=":material/flag:" if last else ":material/skip_next:", on_click=_control,
                     args=(run, "next"), width="stretch")
        c.button("End the round now", key="turing_finish", icon=":material/stop:", on_click=_control,
                 args=(run, "finish"), width="stretch")
    _totals_line(r)


def _tally_line(truth: str, t: dict) -> None:
    kind = "**real**" if truth == "real" else "**generated**"
    if not t["n"]:
        st.markdown(f"It was {kind}. No votes.")
        return
    st.markdown(f"It was {kind}: {t['real']} said real, {t['fake']} said fake — **{t['fool_rate']:.0%} of the "
                "class was fooled**.")


def _totals_line(r: ClassRound) -> None:
    tot = r.totals()
    if not tot["images"] or not tot["votes"]:
        return
    lo, hi = tot["ci"]
    interval = f" (95% interval {lo:.0%} – {hi:.0%} over the class's sessions)" if np.isfinite(lo) else ""
    st.caption(f"Class error rate (HYPE∞) over {tot['images']} revealed image(s): **{tot['error_rate']:.0%}**"
               f"{interval}; {tot['voters']} session{'' if tot['voters'] == 1 else 's'} voted.")


def _results(r: ClassRound) -> None:
    shown = r.index + 1
    st.subheader(f"Last class round: {shown} image{'' if shown == 1 else 's'}, generator at step {r.meta['step']:,}")
    _totals_line(r)
    images, captions = [], []
    for i, (it, t) in enumerate(zip(r.items[:shown], (r.tally(i) for i in range(shown)))):
        images.append(upscale(it.image, 120))
        rate = "no votes" if not t["n"] else f"{t['fool_rate']:.0%} fooled ({t['wrong']}/{t['n']})"
        captions.append(f"{i + 1} · {'real' if it.truth == 'real' else 'generated'} · {rate}")
    st.image(images, caption=captions, width=120)


# ---- viewer -----------------------------------------------------------------------------------------------
@st.fragment(run_every=1.0)
def _viewer_fragment(run) -> None:
    r = class_round(run)
    if r is None:
        st.info("No class round yet: when the presenter starts one, its images appear here. Meanwhile, play "
                "alone below.", icon=":material/groups:")
        return
    if r.finished:
        _viewer_summary(r)
        return
    item = r.current()
    mine = r.vote_of(item.id, session_id())
    st.markdown(f"### Image {r.index + 1} of {len(r.items)}")
    left, right = st.columns(COLUMNS)
    with left:
        show_image(item.image)
    with right:
        if r.revealed:
            if mine is None:
                st.markdown(f"It was **{item.truth if item.truth == 'real' else 'generated'}**. You did not vote.")
            else:
                st.markdown(f"It was **{'real' if item.truth == 'real' else 'generated'}**: you said {mine} — "
                            f"{'right' if mine == item.truth else 'wrong'}.")
            t = r.tally(r.index)
            if t["n"]:
                st.caption(f"{t['fool_rate']:.0%} of the class was fooled. Waiting for the next image…")
        elif mine is None:
            vote_buttons("class", item.id, _vote, (run, r.id))
        else:
            st.markdown(f"You said **{mine}**. Waiting for the presenter to reveal it…")
        note = st.session_state.pop("_turing_note", "")
        if note:
            st.caption(note)
        _my_score(r)


def _my_score(r: ClassRound) -> None:
    sid = session_id()
    done = r.index + (1 if r.revealed else 0)
    said = [(it.truth, r.vote_of(it.id, sid)) for it in r.items[:done]]
    said = [(t, a) for t, a in said if a]
    if said:
        st.caption(f"Your score: {sum(t == a for t, a in said)} of {len(said)} right.")


def _viewer_summary(r: ClassRound) -> None:
    st.markdown("### The class round is over")
    _my_score(r)
    _totals_line(r)


__all__ = ["class_panel", "class_round", "forget_rounds", "IMAGE_PX", "SIZES"]
