"""A GAN family's own part of the pages, drawn from what the family declares (``gan_core.families``): its
live metric charts, its setup fields and its live fields. Nothing here names a family: a new family with
charts or fields gets them shown without a change in ``ui/``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gan_core.config import Choice, Config, Range, Text, field_spec
from gan_core.families import FAMILIES, get_family
from ui.charts import Sizes
from ui.live_charts import AUTOSIZE, PAD, _config

# Widget labels of the fields families add (help comes from the field's comment in config.py's rules).
LABELS = {"aux_weight": "Class-head weight", "aux_fake_weight": "Head learns from fakes", "info_weight": "Code loss weight (λ)",
          "began_gamma": "BEGAN gamma (diversity)", "began_lambda_k": "BEGAN λ_k (balance rate)",
          "unroll_steps": "Unroll D steps (0 = plain)", "info_categories": "Categorical code values",
          "info_continuous": "Continuous codes", "cycle_weight": "Cycle weight (λ)",
          "identity_weight": "Identity weight (× λ)", "source": "Domain A (translated into the dataset, B)",
          "source_path": "Domain A image folder or .zip (A = folder)"}
SERIES_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
STEPS = {"aux_weight": 0.1, "aux_fake_weight": 0.1, "info_weight": 0.1, "began_gamma": 0.05, "began_lambda_k": 0.001,
         "cycle_weight": 0.5, "identity_weight": 0.1}


def family_title(name: str) -> str:
    f = FAMILIES[name]
    return f"{f.title} ({name})"


def field_widget(container, name: str, **kw):
    """A widget for a ruled config field: a number input (its range, integer or float by the field's
    default), a select box for a choice, a text box for text."""
    spec = field_spec(name)
    r, default = spec.metadata["rule"], spec.default
    if isinstance(r, Choice):
        return container.selectbox(LABELS.get(name, name), r.choices, format_func=lambda v: v or "(none)", **kw)
    if isinstance(r, Text):
        return container.text_input(LABELS.get(name, name), **kw)
    if isinstance(r, Range) and isinstance(default, int) and not isinstance(default, bool):
        return container.number_input(LABELS.get(name, name), int(r.lo), int(r.hi), step=1, **kw)
    lo, hi = float(r.lo), float(r.hi)
    return container.number_input(LABELS.get(name, name), lo, hi, format="%.3g",
                                  step=STEPS.get(name, max((hi - lo) / 100, 1e-4)), **kw)


# ---- live charts -----------------------------------------------------------------------------------------
def chart_data(history: dict, family) -> pd.DataFrame:
    steps = np.asarray(history.get("step", []), dtype=np.float64)
    parts = []
    for i, chart in enumerate(family.charts):
        for col in chart.columns:
            values = np.asarray(history.get(col, np.full(len(steps), np.nan)), dtype=np.float64)
            keep = np.isfinite(values) & np.isfinite(steps)
            parts.append(pd.DataFrame({"step": steps[keep], "value": values[keep], "series": chart.label(col),
                                       "chart": i}))
    if not parts:
        return pd.DataFrame(columns=["step", "value", "series", "chart"])
    return pd.concat(parts, ignore_index=True)


def charts_spec(family, cfg: Config, sizes=Sizes(), width: int = 1100) -> dict:
    """One panel per Chart side by side, over the ``family`` dataset (``chart_data``)."""
    n = max(1, len(family.charts))
    panels = []
    for i, chart in enumerate(family.charts):
        names = [chart.label(c) for c in chart.columns]
        line = {"mark": {"type": "line", "strokeWidth": 2.5, "clip": True},
                "transform": [{"filter": f"datum.chart === {i}"}],
                "encoding": {"x": {"field": "step", "type": "quantitative", "axis": {"format": ",.0f"}},
                             "y": {"field": "value", "type": "quantitative", "title": chart.y_title or None},
                             "color": {"field": "series", "type": "nominal", "sort": names,
                                       "scale": {"domain": names, "range": SERIES_COLORS[:len(names)]},
                                       "legend": {"orient": "bottom", "title": None}
                                       if len(names) > 1 else None}}}
        layers = [line]
        for label, value in (chart.lines(cfg) if chart.lines else {}).items():
            layers.append({"data": {"values": [{"y": value, "label": f"{label} = {value:.3g}"}]},
                           "layer": [{"mark": {"type": "rule", "strokeDash": [6, 4], "color": "#555"},
                                      "encoding": {"y": {"field": "y", "type": "quantitative"}}},
                                     {"mark": {"type": "text", "align": "left", "dy": -7, "color": "#555",
                                               "fontSize": sizes.font_px},
                                      "encoding": {"y": {"field": "y", "type": "quantitative"},
                                                   "x": {"value": 4}, "text": {"field": "label"}}}]})
        panels.append({"title": chart.title, "width": int(width / n) - 60, "height": 150, "layer": layers,
                       "resolve": {"scale": {"color": "independent"}}})
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"name": "family"},
            "hconcat": panels, "spacing": 40, "config": _config(sizes), "padding": PAD, "autosize": AUTOSIZE,
            "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}}}


def family_charts(snap: dict, sizes) -> None:
    """The family's live charts under the training charts (nothing for a family without any)."""
    cfg = Config.from_dict(snap["config"])
    family = get_family(cfg.model.family)
    if not family.charts or not len(snap["history"]["step"]):
        return
    spec = charts_spec(family, cfg, sizes)
    spec["datasets"] = {"family": chart_data(snap["history"], family)}
    st.vega_lite_chart(spec, key="family_chart", width="content")
    st.caption(" ".join(f"**{c.title}:** {c.caption}" for c in family.charts))


# ---- fields ------------------------------------------------------------------------------------------------
def family_fields(family_name: str, key) -> None:
    """The selected family's own setup fields (and its live ones, which can also change while it trains)."""
    family = get_family(family_name)
    names = list(family.setup_fields) + list(family.live_fields)
    if not names:
        return
    cols = st.columns(4)
    for i, name in enumerate(names):
        field_widget(cols[i % 4], name, key=key(name))
