"""Lecture mode against the drawing canvas (Setup → Data, dataset "drawn"), attacked the way a student could:
a raw websocket client (bench/ws_client.py) that forges the canvas's component event (a stroke), clicks on
the disabled drawing buttons and on "Start new run", and a link carrying points. No browser needed.

The presenter's own forged stroke is the control: the same message from the presenter's session changes
the drawing and the new run trains on it, so the viewer's changing nothing is the refusal, not a dud message.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from helpers_server import poll, serve
from helpers_ws import JsonTrigger, JsonValue
from test_lecture_attacks import TOKEN, presenter_run, run_of, viewer

STROKE = [[-3.5, 3.5], [-3.4, 3.5], [-3.3, 3.5]]


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    yield from serve(tmp_path_factory, {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN})


def canvas_points(client) -> list:
    """The points of the newest drawing canvas the server sent this client (None: no canvas sent)."""
    with client._lock:
        messages = list(client.messages)
    for fm in reversed(messages):
        el = fm.delta.new_element if fm.WhichOneof("type") == "delta" else None
        if el is not None and el.WhichOneof("type") == "bidi_component" and el.bidi_component.id.endswith(
                "-setup_draw_canvas"):
            return [tuple(p) for p in json.loads(el.bidi_component.json)["points"]]
    return None


def canvas_fragment(client) -> str:
    """The fragment (the Setup dialog) that the newest drawing canvas belongs to: a browser reruns only it."""
    with client._lock:
        messages = list(client.messages)
    return next(fm.delta.fragment_id for fm in reversed(messages) if fm.WhichOneof("type") == "delta"
                and fm.delta.new_element.WhichOneof("type") == "bidi_component")


def link_points(client) -> tuple:
    """The drawn points in the newest "Link to these settings" the server sent this client."""
    with client._lock:
        messages = list(client.messages)
    codes = [fm.delta.new_element.code.code_text for fm in messages if fm.WhichOneof("type") == "delta"
             and fm.delta.new_element.WhichOneof("type") == "code"]
    link = next(t for t in reversed(codes) if "?preset=" in t)
    query = dict(parse_qsl(urlsplit(link).query))
    from gan_core.presets import preset_config
    config = preset_config(query.pop("preset")).with_overrides([f"{k}={v}" for k, v in query.items()])
    return config.data.points


def refresh(client, rid: str) -> None:
    client.rerun(query=f"run={rid}")
    client.wait_finished()


def test_a_viewer_cannot_draw_or_start_a_run_on_a_drawing(lecture):
    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    p, rid = presenter_run(lecture, "drawn", start=False)
    try:
        p.click("btn_setup", f"run={rid}")
        smiley = canvas_points(p)
        assert smiley and len(smiley) > 100  # the presenter's dialog shows the run's drawing
        ids = {k: p.widget_ids[k] for k in ("setup_draw_canvas", "btn_draw_dots", "btn_draw_clear", "btn_setup_start")}
        event = _make_trigger_id(ids["setup_draw_canvas"], "events")
        trigger = JsonTrigger("strokes", {"client": "forged", "strokes": [{"seq": 1, "points": STROKE}]})
        stroke = {event: trigger, ids["setup_draw_canvas"]: JsonValue({})}  # what the browser sends for a stroke

        v = viewer(lecture, f"run={rid}")
        assert run_of(v) == rid and canvas_points(v) is None  # no Setup, no canvas for a viewer
        for widgets in ({v.widget_ids["btn_setup"]: True}, stroke, {ids["btn_draw_clear"]: True},
                        {ids["btn_draw_dots"]: True}, {ids["btn_setup_start"]: True}):  # forged (the presenter's ids)
            v.rerun(query=f"run={rid}", widgets=widgets)
            v.wait_finished()
            assert run_of(v) == rid and canvas_points(v) is None
        v.rerun(query="preset=drawn&points=0,0;1,1;2,2")  # a link with a drawing of its own
        v.wait_finished()
        assert run_of(v) == rid and any("The settings in the link were ignored" in t for t in v.texts())
        v.close()

        refresh(p, rid)
        assert run_of(p) == rid and canvas_points(p) == smiley  # nothing changed for the presenter

        # The control: the presenter's own forged stroke, into the dialog opened again (the refresh above sent
        # no widget states, which no browser does: its dialog would not rerun as a browser's does)
        p.click("btn_setup", f"run={rid}")
        p.rerun(query=f"run={rid}", widgets=stroke, fragment_id=canvas_fragment(p))
        poll(lambda: canvas_points(p) == smiley + [tuple(q) for q in STROKE], 20, "the stroke on the canvas")
        p.rerun(query=f"run={rid}", widgets={ids["btn_setup_start"]: True}, fragment_id=canvas_fragment(p))
        poll(lambda: run_of(p) != rid, 30, "the presenter's new run")
        assert link_points(p) == tuple(smiley) + tuple(map(tuple, STROKE))  # the new run trains on it
    finally:
        p.close()
