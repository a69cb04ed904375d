"""The Train page's model strip (ui/overview.py) and the phase tracking under it: which networks each
iteration updated (``Trainer.last_updates``, every family), the run's record of its newest iterations with
their metrics, when each phase is on screen (narrated at 1 step/s, once after a step pressed by hand, one
"too fast to follow" frame above the narrating speeds), and in AppTest the strip the Train page draws: the
run's live values, the lit network and the gradient's arrows of a full step, a D-only and a G-only step,
and a family's own names for its networks. The real-browser check is tests/test_browser_overview.py."""
from __future__ import annotations

import math
import re

import pytest
import torch

from helpers_ui import attached, clean_registry, new_session, rendered, stopped_runs  # noqa: F401
from test_families import small

from gan_core.families import FAMILIES, get_family
from gan_core.run import Run
from gan_core.trainer import Trainer
from ui.overview import FOREVER, LAG_S, MANUAL_PHASE_S, Phase, frames, phases, strip_html

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- what an iteration updated

@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("which, updates", [("d", ("d", "d")), ("g", ("g",)), ("both", ("d", "d", "g"))])
def test_each_step_reports_the_networks_it_updated_in_order(family, which, updates):
    tr = Trainer(small(family, d_steps=2))
    g0 = [p.detach().clone() for p in tr.G.parameters()]
    tr.step(which)
    assert tr.last_updates == updates
    g_moved = any(not torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
    assert g_moved == ("g" in updates)  # "g" reported exactly when G's weights moved
    tr.step("g")
    assert tr.last_updates == ("g",)  # one iteration's updates, not an accumulation


def test_phases_of_an_iteration_follow_its_updates():
    assert phases(("d", "d", "g")) == [Phase("d", 1, 2), Phase("d", 2, 2), Phase("g", 1, 1)]
    assert phases(("d",)) == [Phase("d")] and phases(("g",)) == [Phase("g")]


@pytest.mark.usefixtures("stopped_runs")
def test_a_run_keeps_its_newest_iterations_with_their_metrics():
    run = Run(small("gan"))
    names = run.trainer.metric_names
    try:
        for n, (which, updates) in enumerate([("d", ("d",)), ("both", ("d", "g")), ("g", ("g",))], start=1):
            run.step_once(which)
            it = run.snapshot(visual=False)["iterations"][-1]
            assert (it["step"], it["which"], it["updates"]) == (n, which, updates)
            latest = run.latest()  # the history row the metrics row and the charts show
            for name in names:
                a, b = it["values"][name], latest[name]
                assert a == b or (math.isnan(a) and math.isnan(b)), name
            assert 0 <= it["age"] < 30
        assert [it["step"] for it in run.snapshot(visual=False)["iterations"]] == [2, 3]  # the newest two
        assert math.isnan(run.latest()["d_loss"])  # the G-only step computed no D loss: shown as "–"
    finally:
        run.stop()


# ---------------------------------------------------------------- when each phase is on screen

def it(step: int, age: float, updates=("d", "g")) -> dict:
    return {"step": step, "updates": updates, "age": age, "which": "both", "values": {}}


def on_screen(shown, t: float) -> list:
    return [(f.iteration["step"] if f.iteration else None, f.phase.net) for f in shown if f.start <= t < f.end]


def test_a_step_pressed_by_hand_shows_d_then_g_once():
    shown = frames([it(5, 0.3)], "paused", 0.0)
    assert [(f.phase.net, f.start, f.end) for f in shown] == [
        ("d", -FOREVER, pytest.approx(MANUAL_PHASE_S - 0.3)),
        ("g", pytest.approx(MANUAL_PHASE_S - 0.3), FOREVER)]
    assert [f.phase.net for f in frames([it(5, 2 * MANUAL_PHASE_S + 1)], "paused", 0.0)] == ["g"]  # D is over
    d_only = frames([it(4, 5.0), it(5, 0.1, ("d",))], "paused", 0.0)  # only the newest, only D
    assert [(f.iteration["step"], f.phase.net, f.start, f.end) for f in d_only] == [(5, "d", -FOREVER, FOREVER)]
    assert [f.phase.net for f in frames([it(5, 0.1, ("g",))], "paused", 0.0)] == ["g"]


@pytest.mark.parametrize("rate, updates", [(1.0, ("d", "g")), (1.0, ("d", "d", "d", "g")), (2.0, ("d", "g"))])
def test_narration_gives_every_phase_its_share_of_the_period(rate, updates):
    period, n = 1.0 / rate, len(updates)
    ages = {7: 0.1 + period, 8: 0.1}  # iteration 8 finished one period after 7, 0.1 s ago
    shown = frames([it(7, ages[7], updates), it(8, ages[8], updates)], "running", rate)
    assert shown[0].start == -FOREVER and shown[-1].end == FOREVER
    for a, b in zip(shown, shown[1:]):
        assert a.end == pytest.approx(b.start)  # no gap, no overlap
    for t in [k * 0.01 for k in range(300)]:  # the next 3 s: narration runs LAG_S behind the iterations
        tau = t - LAG_S
        step = 8 if tau >= -ages[8] else 7
        slot = min(n - 1, int((tau + ages[step]) / (period / n) + 1e-9)) if tau >= -ages[step] else 0
        want = (step, updates[max(0, slot)])
        got = on_screen(shown, t)
        if abs((tau + ages[step]) / (period / n) - round((tau + ages[step]) / (period / n))) > 1e-6:  # not on an edge
            assert got == [want], (t, got, want)
    assert [f.phase.net for f in shown if f.iteration["step"] == 8] == list(updates)  # all of 8's phases to come
    for f in shown:
        if f.iteration["step"] == 8 and f.end < FOREVER:
            assert f.end - f.start == pytest.approx(period / n)


def test_faster_than_narration_one_frame_says_so():
    for rate in (0.0, 5.0, 20.0):
        shown = frames([it(7, 0.01), it(8, 0.0)], "running", rate)
        assert [(f.iteration["step"], f.phase.net, f.start, f.end) for f in shown] == [(8, "all", -FOREVER, FOREVER)]
    assert [f.phase.net for f in frames([], "ready", 1.0)] == ["idle"]


# ---------------------------------------------------------------- the strip on the Train page (AppTest)

pytest_app = pytest.mark.usefixtures("clean_registry")

FRAME = re.compile(r'<div class="ovs-frame[^"]*"[^>]*data-phase="(\w+)" data-i="\d+" data-step="(\d*)">')


def strip_frames(at) -> list[dict]:
    """The strip's frames as drawn: phase, step, the class of the G and D boxes, coloured gradient arrows
    and the shown text of every value by metric column."""
    bodies = [e.proto.body for e in at.get("html") if 'class="ovs"' in e.proto.body]
    assert len(bodies) == 1, f"expected one model strip, found {len(bodies)}"
    body = bodies[0]
    assert not re.search(r"<(button|a|input|select|textarea|form)\b", body)  # read-only: nothing to press
    starts = [m for m in FRAME.finditer(body)]
    out = []
    for m, nxt in zip(starts, starts[1:] + [None]):
        chunk = body[m.start(): nxt.start() if nxt else len(body)]
        nets = dict((n, c) for c, n in re.findall(r'<div class="ovs-box ovs-net ([^"]*)" data-net="(\w)"', chunk))
        out.append({"phase": m.group(1), "step": int(m.group(2)) if m.group(2) else None, "g": nets["g"],
                    "d": nets["d"], "grad": len(re.findall(r'class="ovs-back" style="--c:', chunk)),
                    "values": dict(re.findall(r'data-metric="(\w+)"[^>]*>[^<]*<b>([^<]*)</b>', chunk)),
                    "text": re.sub(r"<[^>]+>", " ", chunk)})
    return out


def close_to(text: str, value: float) -> bool:
    """A value as the strip prints it (0.812, 71%, 0.058, 1.2e+02) is the live value, rounded."""
    if not math.isfinite(value):
        return text == "–"
    if text.endswith("%"):
        return abs(float(text[:-1]) - 100 * value) <= 0.5
    return math.isclose(float(text), value, rel_tol=0.05, abs_tol=0.0051)


def click(at, key: str):
    at.button(key=key).click()
    return rendered(at)


@pytest_app
def test_the_train_page_draws_the_strip_with_the_run_live_values():
    at = rendered(new_session())
    assert [f["phase"] for f in strip_frames(at)] == ["idle"]  # nothing trained yet
    run = attached(at)
    click(at, "btn_step")  # one full iteration while paused: narrated once, D then G
    shown = strip_frames(at)
    assert [(f["phase"], f["step"]) for f in shown] == [("d", 1), ("g", 1)]
    d, g = shown
    assert "ovs-on-d" in d["d"] and "ovs-frozen" in d["g"] and d["grad"] == 1  # D learns; gradient D <- p(real)
    assert "ovs-on-g" in g["g"] and "ovs-frozen" in g["d"] and g["grad"] == 3  # back through D into G
    latest = run.latest()
    strip = get_family(run.config.model.family).overview_parts()
    columns = [c for _, c in strip.g_values + strip.d_values + strip.out_values]
    assert set(g["values"]) == set(columns)
    for column in columns:
        assert close_to(g["values"][column], latest[column]), (column, g["values"][column], latest[column])
    assert all(d["values"][c] == "–" for _, c in strip.g_values)  # G has not learned yet in the D phase

    click(at, "btn_dstep")  # D only: D is lit, G frozen, and no G phase
    (only,) = strip_frames(at)
    assert (only["phase"], only["step"]) == ("d", 2) and "ovs-on-d" in only["d"] and "ovs-frozen" in only["g"]
    assert close_to(only["values"]["d_loss"], run.latest()["d_loss"]) and only["values"]["g_loss"] == "–"
    click(at, "btn_gstep")  # G only
    (only,) = strip_frames(at)
    assert (only["phase"], only["step"]) == ("g", 3) and "ovs-on-g" in only["g"] and "ovs-frozen" in only["d"]
    assert close_to(only["values"]["g_loss"], run.latest()["g_loss"]) and only["values"]["d_loss"] == "–"


@pytest_app
@pytest.mark.parametrize("preset", ["cycle_toy", "digits_began"])
def test_a_family_strip_names_its_own_networks_and_values(preset):
    at = new_session()
    at.query_params["preset"] = preset
    rendered(at)
    run = attached(at)
    click(at, "btn_step")
    g = strip_frames(at)[-1]
    strip = get_family(run.config.model.family).overview_parts()
    assert (strip.g, strip.d) != ("G", "D") or strip.out != "p(real)"  # the family declares its own parts
    for name in (strip.z, strip.g, strip.fake, strip.d, strip.out):
        assert name in g["text"], name
    latest = run.latest()
    for _, column in strip.d_values + strip.out_values:
        assert close_to(g["values"][column], latest[column]), column


def test_too_fast_to_follow_is_said_with_the_speed():
    snap = {"config": small("gan").to_dict(), "state": "running", "max_rate": 0.0,
            "latest": {"steps_per_s": 412.0}, "iterations": [it(9, 0.0)]}
    body = strip_html(snap)
    assert 'data-phase="all"' in body and "412 it/s: too fast to follow" in body
