"""The Train page's model strip, GAN Lab's model overview in one row: z -> G -> G(z) -> D -> p(real), with
the real data going into D too, the live values of the newest iteration under each part, and the network
that the phase on screen updates lit in its colour (D blue, G red, as in the loss chart) while the other
one is frozen. Red and blue arrows under the flow show where that phase's gradient runs: from D's verdict
back into D alone (D step: G's samples are detached), or back through D into G (G step).

Which networks an iteration updated comes from the run (``Trainer.last_updates``: one "d" per optimiser
step of D's networks, one "g" per step of G's), so a D-only step lights D only and ``d_steps`` = 3 shows
three D phases before the G phase. An iteration takes milliseconds and runs in one go (as a D-only step
and then a G-only step it would train differently: the G step reuses the fakes of the last D step), so the
strip replays each finished iteration with its own metrics (``Run.iterations``) rather than catching one in
flight. It walks through the phases

- while training at a narrating speed (``NARRATE_MAX_RATE`` steps/s or slower): each iteration gets its
  period (1 / speed), shared equally by its phases, ``LAG_S`` behind training so that a live refresh
  (every 0.5 s) always arrives before the iteration's turn;
- once after a step pressed by hand (Step, D or G step only): ``MANUAL_PHASE_S`` per phase.

The timing runs in the browser: the page sends, with every refresh, each phase's window in seconds from
now as a CSS animation (no extra reruns, which a lecture's viewers could not afford: ``ui.guard``), and the
last phase stays on screen until the next iteration. Faster than that it shows the newest iteration's
values and says that the phases are too fast to follow.

Names of the parts and the values shown come from the family (``Family.overview``); nothing here names a
family. Read-only: nothing in the strip can be pressed.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, replace

import streamlit as st

from gan_core.config import Config
from gan_core.families import get_family
from ui.charts import COLORS

NARRATE_MAX_RATE = 2.0  # speeds at or below this many steps/s are narrated phase by phase
LAG_S = 0.75  # narration runs this far behind training (> the 0.5 s live refresh)
MANUAL_PHASE_S = 1.0  # each phase of a step pressed by hand is shown this long
STRIP_PX = {False: 44, True: 56}  # the strip's height (normal, presentation mode)
GAP_PX = 16  # Streamlit's gap between two elements: the strip takes STRIP_PX + GAP_PX from the picture and charts
FOREVER = 86_400.0  # seconds: "until the next refresh replaces it"


@dataclass(frozen=True)
class Phase:
    """One phase of an iteration: ``net`` "d" or "g" (the i-th of n updates of that network), or "all"
    (too fast to follow: the whole iteration) or "idle" (nothing trained yet)."""
    net: str
    i: int = 1
    n: int = 1


@dataclass(frozen=True)
class Frame:
    """What the strip shows from ``start`` to ``end`` seconds from now."""
    iteration: dict | None
    phase: Phase
    start: float
    end: float


def phases(updates) -> list[Phase]:
    """An iteration's phases from the networks it updated, in order: ("d", "d", "g") -> D 1/2, D 2/2, G."""
    counts = {net: updates.count(net) for net in ("d", "g")}
    seen = {"d": 0, "g": 0}
    out = []
    for net in updates:
        if net in seen:
            seen[net] += 1
            out.append(Phase(net, seen[net], counts[net]))
    return out


def narrating(state: str, max_rate: float) -> bool:
    return state == "running" and 0 < max_rate <= NARRATE_MAX_RATE


def frames(iterations: list, state: str, max_rate: float) -> list[Frame]:
    """When each phase of the newest iterations is on screen, in seconds from now (``iterations``: the
    snapshot's, oldest first, each with its ``age`` in seconds). The first frame starts in the past and the
    last one lasts until the next refresh, so there is always exactly one frame on screen."""
    if not iterations:
        return [Frame(None, Phase("idle"), -FOREVER, FOREVER)]
    if state == "running" and not narrating(state, max_rate):
        return [Frame(iterations[-1], Phase("all"), -FOREVER, FOREVER)]
    if state == "running":
        chosen, lag = iterations, LAG_S
    else:  # paused after a step pressed by hand (or a run that stopped): its last iteration, once
        chosen, lag = iterations[-1:], 0.0
    out = []
    for k, it in enumerate(chosen):
        steps = phases(it["updates"]) or [Phase("all")]
        period = 1.0 / max_rate if state == "running" else MANUAL_PHASE_S * len(steps)
        start = lag - it["age"]
        end = lag - chosen[k + 1]["age"] if k + 1 < len(chosen) else FOREVER
        for j, phase in enumerate(steps):
            a = start + period * j / len(steps)
            b = end if j == len(steps) - 1 else min(end, start + period * (j + 1) / len(steps))
            if b > a:
                out.append(Frame(it, phase, a, b))
    out = [f for f in out if f.end > 0] or out[-1:]  # what is over is dropped; the newest always stays
    out[0] = replace(out[0], start=-FOREVER)
    return out


# ---- drawing ---------------------------------------------------------------------------------------------
def _value(column: str, values: dict) -> str:
    v = values.get(column)
    if v is None or not math.isfinite(v):
        return "–"
    if "acc" in column:
        return f"{100 * v:.0f}%"
    if column.endswith("grad_norm"):
        return f"{v:.2g}"
    if column.endswith("_mean"):
        return f"{v:.2f}"
    return f"{v:.3f}"


def _values(pairs, values: dict, shown: bool = True, colors: tuple = ()) -> str:
    parts = []
    for i, (label, column) in enumerate(pairs):
        color = f' style="color:{colors[i]}"' if i < len(colors) and colors[i] else ""
        text = _value(column, values) if shown else "–"
        parts.append(f'<span class="ovs-v" data-metric="{html.escape(column)}"{color}>{html.escape(label)} '
                     f'<b>{text}</b></span>')
    return " ".join(parts)


def _box(kind: str, name: str, values: str, state: str = "", tag: str = "", net: str = "") -> str:
    tag_html = f' <span class="ovs-tag">{html.escape(tag)}</span>' if tag else ""
    net_attr = f' data-net="{net}"' if net else ""
    return (f'<div class="ovs-box ovs-{kind} {state}"{net_attr}><div class="ovs-name">{html.escape(name)}{tag_html}'
            f'</div><div class="ovs-vals">{values}</div></div>')


def _arrow(grad: str = "", label: str = "") -> str:
    """A forward arrow (the data's way; ``label`` above it names what joins there), with the gradient's arrow
    back under it when the phase's gradient runs back along it (invisible otherwise: every frame has the same
    layout)."""
    back = (f'<div class="ovs-back" style="--c:{COLORS[grad]}"></div>' if grad else
            '<div class="ovs-back ovs-none"></div>')
    return (f'<div class="ovs-arrow{" ovs-join" if label else ""}"><div class="ovs-label">{label}</div>'
            f'<div class="ovs-fwd"></div>{back}</div>')


def _z_note(cfg: dict, strip) -> str:
    if strip.z == "a":
        return "domain A"
    extra = {"z, y": " + class", "z, c": " + code"}.get(strip.z, "")
    return f"{cfg['model']['z_dim']}-d noise{extra}"


def _texts(phase: Phase, rate: float, note: str) -> tuple[str, str]:
    """The phase's title and one line under it (the boxes name the family's networks; this says D and G)."""
    if phase.net == "d":
        return "D step" + (f" {phase.i} of {phase.n}" if phase.n > 1 else ""), "D learns real vs fake · G frozen"
    if phase.net == "g":
        return "G step", f"gradient through {note} into G" if note else "gradient through D into G · D frozen"
    if phase.net == "all":
        fast = f"{rate:,.0f} it/s" if rate and math.isfinite(rate) else "Fast"
        return "D step, then G step", f"{fast}: too fast to follow · 1/s narrates one"
    return "One iteration", "D step, then G step · Step narrates one"


def frame_html(frame: Frame, strip, cfg: dict, rate: float, note: str = "") -> str:
    """One frame: the phase's title, then the flow with the phase's network lit and its gradient drawn; the
    values are the iteration's metrics (G's are left out while its D phase is on screen: G has not learned
    yet). ``rate``: iterations per second (for "too fast"); ``note``: the family's ``g_note``."""
    phase, it = frame.phase, frame.iteration
    values = it["values"] if it else {}
    title, sub = _texts(phase, rate, note)
    d_on, g_on = phase.net in ("d", "all"), phase.net in ("g", "all")
    lit = {"d": "ovs-lit-d", "g": "ovs-lit-g", "all": "ovs-lit", "idle": ""}[phase.net]
    g_state = "ovs-on-g" if g_on else ("ovs-frozen" if phase.net == "d" else "")
    d_state = "ovs-on-d" if d_on else ("ovs-frozen" if phase.net == "g" else "")
    g_tag = "learning" if g_on and phase.net != "all" else ("frozen" if phase.net == "d" else "")
    d_tag = "learning" if d_on and phase.net != "all" else ("frozen" if phase.net == "g" else "")
    d_grad = "d" if phase.net == "d" else ("g" if phase.net == "g" else "")
    g_grad = "g" if phase.net == "g" else ""
    real_state = "ovs-unused" if phase.net == "g" else ""
    step = f" · iteration {it['step']:,}" if it else ""
    head = (f'<div class="ovs-phase {lit}"><div class="ovs-title">{html.escape(title)}'
            f'<span class="ovs-step">{html.escape(step)}</span></div>'
            f'<div class="ovs-sub">{html.escape(sub)}</div></div>')
    body = "".join([
        _box("in", strip.z, f'<span class="ovs-v">{html.escape(_z_note(cfg, strip))}</span>'),
        _arrow(),
        _box("net", strip.g, _values(strip.g_values, values, shown=phase.net != "d"), g_state, g_tag, "g"),
        _arrow(g_grad),
        f'<div class="ovs-chip" style="border-color:{COLORS["fake"]};color:{COLORS["fake"]}">'
        f'{html.escape(strip.fake)}</div>',
        _arrow(g_grad, f'<span class="ovs-real {real_state}" style="color:{COLORS["real"]}">'
                       f'+ {html.escape(strip.real)} real</span>'),
        _box("net", strip.d, _values(strip.d_values, values), d_state, d_tag, "d"),
        _arrow(d_grad),
        _box("out", strip.out, _values(strip.out_values, values, colors=(COLORS["real"], COLORS["fake"]))),
    ])
    if frame.start <= -FOREVER and frame.end >= FOREVER:
        timing = 'class="ovs-frame ovs-always"'
    else:
        timing = (f'class="ovs-frame" style="animation: ovs-show {frame.end - frame.start:.3f}s linear '
                  f'{frame.start:.3f}s 1 normal none"')
    return (f'<div {timing} data-phase="{phase.net}" data-i="{phase.i}" '
            f'data-step="{it["step"] if it else ""}">{head}<div class="ovs-flow">{body}</div></div>')


CSS = """
.ovs { position: relative; height: %(h)dpx; font-family: "Source Sans Pro", sans-serif; color: #31333f;
  font-size: %(f)dpx; line-height: 1.2; }
.ovs-frame { position: absolute; inset: 0; display: flex; align-items: stretch; gap: 8px; background: #fff;
  visibility: hidden; }
.ovs-frame.ovs-always { visibility: visible; }
@keyframes ovs-show { from { visibility: visible; } to { visibility: visible; } }
.ovs-phase { flex: 0 1 %(pw)dpx; min-width: 0; border-left: 6px solid #bbb; padding: 1px 8px; display: flex;
  flex-direction: column; justify-content: center; background: #f3f3f6; border-radius: 4px; }
.ovs-lit-d { border-left-color: %(d)s; background: #e8f1fa; }
.ovs-lit-g { border-left-color: %(g)s; background: #fbeaea; }
.ovs-lit { border-left-color: #888; }
.ovs-title { font-weight: 700; font-size: %(tf)dpx; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ovs-lit-d .ovs-title { color: %(d)s; } .ovs-lit-g .ovs-title { color: %(g)s; }
.ovs-step { font-weight: 400; color: #555; font-size: %(f)dpx; }
.ovs-sub { color: #444; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ovs-flow { flex: 1 1 auto; display: flex; align-items: stretch; min-width: 0; }
.ovs-box { flex: 0 0 auto; border: 2px solid #c9c9d1; border-radius: 6px; padding: 1px 8px; display: flex;
  flex-direction: column; justify-content: center; white-space: nowrap; background: #fff; }
.ovs-in, .ovs-out { border-style: dashed; }
.ovs-net { min-width: 10.2em; } .ovs-out { min-width: 8.6em; }
.ovs-name { font-weight: 700; font-size: %(tf)dpx; }
.ovs-vals { color: #444; }
.ovs-v b { font-weight: 600; }
.ovs-tag { font-weight: 600; font-size: %(f)dpx; padding: 0 6px; border-radius: 8px; margin-left: 4px; }
.ovs-on-d { border: 3px solid %(d)s; background: #e8f1fa; } .ovs-on-d .ovs-name { color: %(d)s; }
.ovs-on-g { border: 3px solid %(g)s; background: #fbeaea; } .ovs-on-g .ovs-name { color: %(g)s; }
.ovs-on-d .ovs-tag { background: %(d)s; color: #fff; } .ovs-on-g .ovs-tag { background: %(g)s; color: #fff; }
.ovs-lit .ovs-on-d, .ovs-lit .ovs-on-g { border-width: 2px; background: #fff; }
.ovs-frozen { color: #888; border-style: dotted; background: #f6f6f6; }
.ovs-frozen .ovs-vals, .ovs-frozen .ovs-name { color: #888; } .ovs-frozen .ovs-tag { background: #e2e2e2; color: #555; }
.ovs-chip { flex: 0 0 auto; border: 2px solid; border-radius: 14px; padding: 0 10px; font-weight: 700;
  font-size: %(tf)dpx; white-space: nowrap; display: flex; align-items: center; background: #fff; margin: 5px 0; }
.ovs-real { font-weight: 700; white-space: nowrap; }
.ovs-unused { opacity: 0.3; }
.ovs-arrow { flex: 1 1 30px; min-width: 18px; display: flex; flex-direction: column; justify-content: center;
  gap: 8px; padding: 0 9px 0 3px; }
.ovs-join { flex-basis: 90px; }
.ovs-label { height: 0; margin-top: -2px; display: flex; align-items: flex-end; justify-content: center; }
.ovs-fwd, .ovs-back { position: relative; height: 2px; background: #8a8a8a; }
.ovs-fwd::after { content: ""; position: absolute; right: -9px; top: -5px; border-left: 10px solid #8a8a8a;
  border-top: 6px solid transparent; border-bottom: 6px solid transparent; }
.ovs-back { height: 4px; background: var(--c); margin-left: 8px; margin-right: -6px; }
.ovs-back::before { content: ""; position: absolute; left: -10px; top: -5px; border-right: 11px solid var(--c);
  border-top: 7px solid transparent; border-bottom: 7px solid transparent; }
.ovs-none { visibility: hidden; }
"""


def strip_css(present: bool) -> str:
    size = dict(h=STRIP_PX[present], f=16 if present else 13, tf=19 if present else 15, af=24 if present else 20,
                pw=330 if present else 290, d=COLORS["d"], g=COLORS["g"])
    return "<style>" + CSS % size + "</style>"


def strip_html(snap: dict, present: bool = False) -> str:
    """The strip for a run snapshot: one frame per phase on screen from now on (see ``frames``)."""
    cfg = snap["config"]
    strip = get_family(cfg["model"]["family"]).overview_parts()
    rate = snap["latest"].get("steps_per_s", math.nan)
    shown = frames(snap.get("iterations") or [], snap["state"], snap.get("max_rate", 0.0))
    note = strip.g_note(Config.from_dict(cfg)) if strip.g_note else ""
    inner = "".join(frame_html(f, strip, cfg, rate, note) for f in shown)
    return f'{strip_css(present)}<div class="ovs" role="img" aria-label="model overview">{inner}</div>'


def overview_strip(snap: dict, present: bool = False) -> None:
    st.html(strip_html(snap, present))


def room_for_strip(sizes):
    """The Train page's sizes with the strip's height taken from the picture and the charts beside it."""
    px = STRIP_PX[sizes.present] + GAP_PX
    return replace(sizes, picture_px=sizes.picture_px - px, charts_px=sizes.charts_px - px)
