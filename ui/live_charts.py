"""The Train page's live charts as Vega-Lite specs with named datasets (``st.vega_lite_chart``).

Why not Plotly here: Streamlit 1.67 gives a Plotly chart a new element id whenever its figure changes, so
every live refresh unmounts the chart, purges it and draws it again; in headless Chromium on two cores
the charts were blank 35-60% of the time at two refreshes a second (measured, see docs/BENCHMARKS.md).
A Vega-Lite chart keeps its id (its key) and Streamlit swaps only the datasets into the live view, so
the picture never blanks. Everything that changes per refresh therefore lives in the datasets; the spec
stays the same between refreshes (text that changes, such as the step, is drawn by the page).

- ``training_spec``: three stacked panels on one step axis — losses, D accuracy with the healthy band,
  D's mean outputs — each with its own legend and its own colours.
- ``space_spec``: 2D data: D's output as a smooth background image, G's gradient arrows (with heads)
  under the real (green) and generated (purple) points; marks are clipped to the plot.
- ``line_1d_spec``: 1D data: histograms of real and generated samples and D's curve.
- ``modes_spec``: modes covered and the high-quality fraction over training.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from ui.charts import COLORS, HEALTHY_ACC, TRAINING_TRACES, Sizes, robust_range

PANELS = (("losses", "Losses"),
          ("acc", f"D accuracy · band = healthy {int(HEALTHY_ACC[0] * 100)}–{int(HEALTHY_ACC[1] * 100)}%"),
          ("means", "D's mean outputs"))
_PANEL_OF_ROW = {1: "losses", 2: "acc", 3: "means"}
_DASHED = {"D real term", "D fake term"}
RDBU = np.array([[103, 0, 31], [178, 24, 43], [214, 96, 77], [244, 165, 130], [253, 219, 199], [247, 247, 247],
                 [209, 229, 240], [146, 197, 222], [67, 147, 195], [33, 102, 172], [5, 48, 97]], dtype=np.float64)
PAD = {"left": 2, "right": 4, "top": 2, "bottom": 2}  # (a plain number breaks Streamlit's frontend)
AUTOSIZE = {"type": "pad", "contains": "padding"}  # sizes as given (Streamlit would "fit" them, squeezing the plot)
HEAT_LABEL = {"logit": "D(x)", "ls": "D(x)", "score": "score"}
JS_SERIES, JS_COLOR = "JS", "#222222"  # the JS divergence in nats, like the BCE losses: 0 = same, ln 2 = disjoint
JS_TITLE = "Losses · JS divergence (real vs generated)"  # the losses panel's title when it draws JS


def _config(sizes) -> dict:
    return {"font": "Source Sans Pro, sans-serif",
            "axis": {"labelFontSize": sizes.font_px, "titleFontSize": sizes.font_px, "grid": True,
                     "gridColor": "#eeeeee"},
            "legend": {"labelFontSize": sizes.font_px, "titleFontSize": sizes.font_px, "symbolStrokeWidth": 3},
            "header": {"labelFontSize": sizes.title_px}, "view": {"stroke": "#dddddd"},
            "title": {"fontSize": sizes.title_px, "anchor": "start", "fontWeight": 600}}


# ---- training panels ------------------------------------------------------------------------------------
def training_data(history: dict, evals: dict | None = None) -> pd.DataFrame:
    """Long table (step, value, series, panel) of the training columns, and the JS divergence of the live
    evaluations (``evals["js"]``, point data) in the losses panel; NaN rows are dropped."""
    steps = np.asarray(history.get("step", []), dtype=np.float64)
    parts = []
    for col, name, _color, _dash, _width, row in TRAINING_TRACES:
        values = np.asarray(history.get(col, np.full(len(steps), np.nan)), dtype=np.float64)
        keep = np.isfinite(values) & np.isfinite(steps)
        parts.append(pd.DataFrame({"step": steps[keep], "value": values[keep], "series": name,
                                   "panel": _PANEL_OF_ROW[row]}))
    if has_js(evals):
        at, js = (np.asarray(evals[k], dtype=np.float64) for k in ("step", "js"))
        keep = np.isfinite(js) & np.isfinite(at)
        parts.append(pd.DataFrame({"step": at[keep], "value": js[keep], "series": JS_SERIES, "panel": "losses"}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["step", "value", "series", "panel"])


def has_js(evals: dict | None) -> bool:
    """Whether a run's live evaluations carry the JS divergence (1D and 2D point data)."""
    return evals is not None and "js" in evals


def loss_domain(history: dict):
    """A y-range for the losses that ignores a few huge outliers (before a divergence), or None."""
    cols = [history[c] for c, *_r, row in TRAINING_TRACES if row == 1 and c in history]
    return robust_range(cols)


def training_spec(output: str, sizes=Sizes(), loss_range=None, js: bool = False) -> dict:
    """Three panels, one legend each; the ``train`` dataset is ``training_data(history, evals)``. ``js``: the
    losses panel also draws the live JS divergence between real and generated points (GAN Lab does too)."""
    if js and loss_range is not None:  # JS lies in [0, ln 2]: keep it in view
        loss_range = [min(loss_range[0], -0.02), max(loss_range[1], 0.72)]
    n_panels = len(PANELS)
    # what is not plot: panel titles, the gaps between panels and the bottom axis (measured in Chromium)
    overhead = n_panels * (sizes.title_px + 30) + 2 * 10 + 2 * sizes.font_px + 30
    heights = [int(round((sizes.charts_px - overhead) * f)) for f in (0.42, 0.31, 0.27)]
    panels = []
    for i, ((panel, title), height) in enumerate(zip(PANELS, heights)):
        traces = [t for t in TRAINING_TRACES if _PANEL_OF_ROW[t[5]] == panel]
        if panel == "losses" and js:
            traces.append(("js", JS_SERIES, JS_COLOR, None, 2.5, 1))
        names = [t[1] for t in traces]
        y = {"field": "value", "type": "quantitative", "title": None}
        if panel == "acc":
            y["scale"] = {"domain": [0, 1]}
            y["axis"] = {"format": ".0%", "values": [0, 0.25, 0.5, 0.75, 1]}
        elif panel == "means" and output == "logit":
            y["scale"] = {"domain": [0, 1]}
        elif panel == "losses" and loss_range is not None:
            y["scale"] = {"domain": [float(loss_range[0]), float(loss_range[1])], "clamp": True}
        line = {
            "mark": {"type": "line", "clip": True, "strokeWidth": 2.5 if sizes.font_px < 16 else 3},
            "transform": [{"filter": f"datum.panel === '{panel}'"}],
            "encoding": {
                "x": {"field": "step", "type": "quantitative",
                      "axis": {"title": "step" if i == n_panels - 1 else None, "labels": i == n_panels - 1,
                               "format": ",.0f", "tickMinStep": 1}},  # (no "1 1 2 2" in the first steps)
                "y": y,
                "color": {"field": "series", "type": "nominal", "sort": names,
                          "scale": {"domain": names, "range": [t[2] for t in traces]},
                          "legend": {"orient": "right", "title": None, "symbolType": "stroke",
                                     "labelLimit": 120}},
                "strokeDash": {"field": "series", "type": "nominal", "sort": names, "legend": None,
                               "scale": {"domain": names, "range": [[2, 2] if n in _DASHED else [1, 0]
                                                                    for n in names]}},
            },
        }
        layers = [line]
        if panel == "acc":
            layers.insert(0, {"data": {"values": [{"lo": HEALTHY_ACC[0], "hi": HEALTHY_ACC[1]}]},
                              "mark": {"type": "rect", "color": COLORS["band"]},
                              "encoding": {"y": {"field": "lo", "type": "quantitative"}, "y2": {"field": "hi"}}})
        if panel == "losses" and js:
            title = JS_TITLE
        panels.append({"title": title, "width": sizes.charts_width, "height": height, "layer": layers,
                       "resolve": {"scale": {"color": "independent", "strokeDash": "independent"}}})
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"name": "train"},
            "vconcat": panels, "spacing": 10,
            "resolve": {"scale": {"x": "shared", "color": "independent", "strokeDash": "independent"},
                        "legend": {"color": "independent"}},
            "config": _config(sizes), "padding": PAD, "autosize": AUTOSIZE}


# ---- the data-space picture -------------------------------------------------------------------------
def _rdbu(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """RdBu colours (red = low = fake, blue = high = real) for values in [lo, hi]; uint8 (..., 3)."""
    t = np.clip((values - lo) / max(hi - lo, 1e-12), 0, 1) * (len(RDBU) - 1)
    i = np.minimum(t.astype(int), len(RDBU) - 2)
    f = (t - i)[..., None]
    return np.round(RDBU[i] * (1 - f) + RDBU[i + 1] * f).astype(np.uint8)


def heat_range(visual: dict) -> tuple[float, float]:
    """The colour range of D's background: [0, 1] for probabilities, symmetric about 0 for scores."""
    if visual["output"] == "logit":
        return 0.0, 1.0
    if visual["output"] == "ls":
        return -0.25, 1.25
    m = float(np.nanmax(np.abs(visual["heat"]))) if np.isfinite(visual["heat"]).any() else 1.0
    return -max(m, 1e-6), max(m, 1e-6)


def heat_png(visual: dict) -> str:
    """D's output on the grid as a small PNG data URI (rows flipped: the image's top is the largest y)."""
    from PIL import Image
    lo, hi = heat_range(visual)
    heat = np.nan_to_num(np.asarray(visual["heat"], dtype=np.float64), nan=(lo + hi) / 2)
    rgb = _rdbu(heat[::-1], lo, hi)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def space_data(visual: dict) -> dict:
    """The datasets of ``space_spec``: heat (one image), points, arrows."""
    from ui.charts import arrow_segments
    sets = [(np.asarray(visual[key]), kind) for key, kind in zip(("real", "fake", "source"), point_kinds(visual))
            if key in visual]
    points = pd.DataFrame({"x": np.concatenate([p[:, 0] for p, _ in sets]),
                           "y": np.concatenate([p[:, 1] for p, _ in sets]),
                           "kind": sum(([kind] * len(p) for p, kind in sets), [])})
    xy, uv = np.asarray(visual["arrow_xy"]), np.asarray(visual["arrow_uv"])
    if visual.get("arrow_map"):  # a translation: each arrow ends exactly where G sends its point
        tips = xy + uv
    else:
        seg_x, seg_y, _ = arrow_segments(xy, uv, visual["bounds"])
        tips = np.column_stack([seg_x[1::3], seg_y[1::3]])
    d = tips - xy
    arrows = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "x2": tips[:, 0], "y2": tips[:, 1],
                           "angle": np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360,
                           "long": np.hypot(d[:, 0], d[:, 1]) > 1e-9})
    lo, hi = heat_range(visual)
    return {"heat": pd.DataFrame({"url": [heat_png(visual)]}), "points": points, "arrows": arrows,
            "heatscale": pd.DataFrame({"v": [lo, hi]})}


def point_kinds(visual: dict) -> tuple:
    """Legend names of the real, generated (and, for a translation, source) points."""
    if "source" in visual:
        return "domain B", "A → B (G_AB)", "domain A"
    return "real", "generated"


def space_spec(visual: dict, sizes=Sizes()) -> dict:
    """A square plot of the (possibly widened) view; datasets from ``space_data``."""
    (x0, x1), (y0, y1) = visual["bounds"]
    side = sizes.picture_px - 62  # room for the axis and the legend under it
    lo, hi = heat_range(visual)
    x = {"field": "x", "type": "quantitative", "scale": {"domain": [x0, x1], "nice": False}, "title": None}
    y = {"field": "y", "type": "quantitative", "scale": {"domain": [y0, y1], "nice": False}, "title": None}
    fixed_heat = visual["output"] != "score"  # a critic's score range changes as it trains
    layers = [
        {"data": {"name": "heat"}, "mark": {"type": "image", "width": side, "height": side, "aspect": False,
                                            "align": "left", "baseline": "top", "smooth": True},
         "encoding": {"x": {"datum": x0, "type": "quantitative", "scale": x["scale"]},
                      "y": {"datum": y1, "type": "quantitative", "scale": y["scale"]},
                      "url": {"field": "url", "type": "nominal"}}},
        {"data": {"name": "heatscale"}, "mark": {"type": "point", "opacity": 0},  # only draws the colour legend
         "encoding": {"color": {"field": "v", "type": "quantitative", "title": HEAT_LABEL[visual["output"]],
                                "scale": {"scheme": "redblue", "domain": [lo, hi] if fixed_heat else None},
                                "legend": {"orient": "right", "gradientLength": side - 40,
                                           "format": ".1f" if fixed_heat else ".2~g"}}}},
        {"data": {"name": "arrows"}, "mark": {"type": "rule", "clip": True, "color": COLORS["arrow"],
                                              "strokeWidth": 1.3},
         "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"}}},
        {"data": {"name": "arrows"}, "transform": [{"filter": "datum.long"}],
         "mark": {"type": "point", "shape": "triangle-up", "filled": True, "clip": True,
                  "color": COLORS["arrow"], "size": 28},
         "encoding": {"x": {**x, "field": "x2"}, "y": {**y, "field": "y2"}, "angle": {"field": "angle",
                                                                                      "type": "quantitative",
                                                                                      "scale": None}}},
        {"data": {"name": "points"}, "mark": {"type": "circle", "clip": True, "size": 22, "opacity": 0.9},
         "encoding": {"x": x, "y": y,
                      "color": {"field": "kind", "type": "nominal",
                                "scale": {"domain": list(point_kinds(visual)),
                                          "range": [COLORS["real"], COLORS["fake"], COLORS["source"]]},
                                "legend": {"orient": "bottom", "direction": "horizontal", "title": None}},
                      "order": {"field": "kind", "sort": "descending"}}},
    ]
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "width": side, "height": side,
            "layer": layers, "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}},
            "config": _config(sizes), "padding": PAD, "autosize": AUTOSIZE}


def line_1d_data(visual: dict) -> dict:
    edges = np.asarray(visual["edges"])
    centers = 0.5 * (edges[1:] + edges[:-1])
    hist = pd.DataFrame({"x": np.concatenate([centers, centers]),
                         "density": np.concatenate([visual["real_hist"], visual["fake_hist"]]),
                         "kind": ["real"] * len(centers) + ["generated"] * len(centers)})
    curve = pd.DataFrame({"x": np.asarray(visual["curve_x"]), "d": np.asarray(visual["curve_d"])})
    return {"hist": hist, "curve": curve}


def line_1d_spec(visual: dict, sizes=Sizes(), width: int = 520) -> dict:
    lo, hi = float(visual["edges"][0]), float(visual["edges"][-1])
    x = {"field": "x", "type": "quantitative", "scale": {"domain": [lo, hi], "nice": False}, "title": "x"}
    prob = visual["output"] == "logit"
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "width": width,
            "height": sizes.picture_px - 70, "config": _config(sizes), "padding": PAD, "autosize": AUTOSIZE,
            "layer": [
                {"data": {"name": "hist"}, "mark": {"type": "area", "interpolate": "step", "opacity": 0.45,
                                                    "clip": True},
                 "encoding": {"x": x, "y": {"field": "density", "type": "quantitative", "title": "density",
                                            "stack": None},
                              "color": {"field": "kind", "type": "nominal",
                                        "scale": {"domain": ["real", "generated"],
                                                  "range": [COLORS["real"], COLORS["fake"]]},
                                        "legend": {"orient": "bottom", "direction": "horizontal", "title": None}}}},
                {"data": {"name": "curve"}, "mark": {"type": "line", "color": COLORS["d"], "strokeWidth": 2.5,
                                                     "clip": True},
                 "encoding": {"x": x, "y": {"field": "d", "type": "quantitative",
                                            "title": "D(x)" if prob else "D score",
                                            "scale": {"domain": [0, 1]} if prob else {},
                                            "axis": {"orient": "right", "titleColor": COLORS["d"]}}}},
            ],
            "resolve": {"scale": {"y": "independent"}}}


def modes_data(evals: dict) -> pd.DataFrame:
    return pd.DataFrame({"step": np.asarray(evals.get("step", []), dtype=np.float64),
                         "modes": np.asarray(evals.get("modes_covered", []), dtype=np.float64),
                         "hq": np.asarray(evals.get("hq_fraction", []), dtype=np.float64)})


def modes_spec(n_modes: int, sizes=Sizes(), width: int = 1100) -> dict:
    x = {"field": "step", "type": "quantitative", "title": "step", "axis": {"format": ",.0f"}}
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"name": "modes"},
            "title": "Mode coverage (2,500 samples, 3-sigma rule)", "width": width, "height": 150,
            "config": _config(sizes), "padding": PAD, "autosize": AUTOSIZE,
            "layer": [
                {"mark": {"type": "line", "color": COLORS["d"], "strokeWidth": 2.5, "interpolate": "step-after"},
                 "encoding": {"x": x, "y": {"field": "modes", "type": "quantitative",
                                            "title": f"modes covered (of {n_modes})",
                                            "scale": {"domain": [0, n_modes]},
                                            "axis": {"titleColor": COLORS["d"], "tickMinStep": 1}}}},
                {"mark": {"type": "line", "color": COLORS["real"], "strokeWidth": 2, "strokeDash": [4, 3]},
                 "encoding": {"x": x, "y": {"field": "hq", "type": "quantitative", "title": "high-quality fraction",
                                            "scale": {"domain": [0, 1]},
                                            "axis": {"orient": "right", "titleColor": COLORS["real"],
                                                     "format": ".0%"}}}},
            ],
            "resolve": {"scale": {"y": "independent"}}}
