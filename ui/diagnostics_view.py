"""Diagnostics page parts: live coverage/diversity charts, the class histogram, the memorisation check and
the on-demand quality metrics (FID with its real-vs-real floor, IS, precision/recall, density/coverage).

Everything generates from the run's frozen generator copy, so measuring never pauses training.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from gan_core.viz import tile_images
from ui.charts import COLORS, upscale
from ui.lecture import can_control, refuse

SAMPLE_CHOICES = (1000, 2000, 5000, 10000)


def _arr(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def coverage_figure(evals: dict, kind: str, total: int, perfect: Optional[dict] = None) -> go.Figure:
    """Coverage (modes or classes) and the generated/real spread ratio over training; ``perfect``
    (``uniform_mode_reference``): what a perfect generator scores at the live sample count, drawn as a line."""
    unit = "modes" if kind == "modes" or perfect else "classes"
    col = "modes_covered" if kind == "modes" else "classes_covered"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=(f"{unit.capitalize()} covered (of {total})",
                                        "Sample spread relative to real data"))
    x = _arr(evals.get("step", []))
    fig.add_trace(go.Scatter(x=x, y=_arr(evals.get(col, [])), name=f"{unit} covered", mode="lines+markers",
                             line=dict(color=COLORS["d"])), row=1, col=1)
    if kind == "modes":
        fig.add_trace(go.Scatter(x=x, y=_arr(evals.get("hq_fraction", [])) * total, name="HQ fraction × modes",
                                 mode="lines", line=dict(color=COLORS["real"], dash="dot")), row=1, col=1)
    else:
        fig.add_trace(go.Scatter(x=x, y=_arr(evals.get("kl_uniform", [])), name="KL to uniform",
                                 mode="lines", line=dict(color=COLORS["g"], dash="dot")), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_arr(evals.get("diversity_ratio", [])), name="spread ratio", mode="lines",
                             line=dict(color=COLORS["fake"])), row=2, col=1)
    if perfect:
        fig.add_hline(y=perfect["modes_captured"], line_dash="dash", line_color="gray", row=1, col=1,
                      annotation_text=f"a perfect generator at {perfect['n']:,} samples: "
                                      f"{perfect['modes_captured']:.0f} (KL {perfect['kl_to_uniform']:.2f})",
                      annotation_position="bottom right")
    fig.add_hline(y=1.0, line_dash="dash", line_color="gray", row=2, col=1)
    fig.add_hrect(y0=0, y1=0.5, fillcolor="rgba(214,39,40,0.08)", line_width=0, row=2, col=1,
                  annotation_text="near-identical samples", annotation_position="bottom left")
    fig.update_yaxes(range=[0, total + 0.5] if total <= 25 else None, row=1, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10), uirevision="diag-cov",
                      legend=dict(orientation="h", y=-0.15))
    return fig


def histogram_figure(counts: np.ndarray, names: list, title: str) -> go.Figure:
    share = counts / max(counts.sum(), 1)
    fig = go.Figure(go.Bar(x=[str(n) for n in names], y=share, marker_color=COLORS["fake"], name="generated"))
    fig.add_hline(y=1 / len(counts), line_dash="dash", line_color="gray", annotation_text="uniform")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title=dict(text=title, font=dict(size=13)),
                      yaxis_title="share of samples", uirevision="diag-hist")
    return fig


def mode_counts(view, modes: torch.Tensor, std: float, n: int = 2500) -> np.ndarray:
    """High-quality samples per mode (nearest mode within 3 std)."""
    fake = view.generate(view.inputs(n, torch.Generator().manual_seed(5)))
    d = torch.cdist(fake, modes.float())
    dist, idx = d.min(1)
    return np.bincount(idx[dist <= 3 * std].numpy(), minlength=modes.shape[0])


def memorisation(view, data, n: int = 8) -> None:
    """Each sample next to its nearest training image (pixel L2), with real-to-real distances for scale."""
    from gan_core.quality import nearest_neighbours
    images = getattr(data, "images", None)
    if images is None or not view.is_image:
        return
    train = images.detach().cpu()
    fake = view.generate(view.inputs(n, torch.Generator().manual_seed(3)),
                         torch.arange(n) % view.num_classes if view.num_classes else None)
    if fake.shape[1:] != train.shape[1:]:
        st.caption("The memorisation check needs samples at the training images' size.")
        return
    idx, dist = nearest_neighbours(fake, train)
    probe = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(4))[:64]]
    _, real_nn = nearest_neighbours(probe, train[len(train) // 2:] if len(train) > 200 else train)
    typical = float(np.median(real_nn[real_nn > 0])) if (real_nn > 0).any() else float("nan")
    pairs = torch.stack([torch.stack([f, train[i]]) for f, i in zip(fake, idx.tolist())]).flatten(0, 1)
    grid = tile_images(pairs, nrow=2 * 4, pad=2)
    st.image(upscale(grid, 640), caption="Pairs: a generated sample, then its nearest training image")
    d = np.asarray(dist, dtype=np.float64)
    verdict = ("close to the typical distance between two different real images: no sign of copying"
               if d.min() > 0.5 * typical else "some samples sit much closer to a training image than real "
               "images sit to each other: check them for copies")
    st.caption(f"Pixel distances to the nearest training image: {', '.join(f'{v:.1f}' for v in d)}; "
               f"a real image's nearest other real image is typically {typical:.1f} away — {verdict}.")


@st.cache_resource(show_spinner=False)
def _shared_results() -> dict:
    """The newest quality result per run, for every session (in lecture mode the class sees the
    presenter's)."""
    return {}


def quality_metrics(run, view) -> None:
    """On-demand metrics in the classifier's feature space, with a progress bar and the real floor."""
    from gan_core.classifier import classifier_for, load_for_dataset
    from gan_core.quality import evaluate_samples
    kind = classifier_for(view.dataset)
    if kind is None:
        st.info("Fréchet distance, IS, precision/recall and density/coverage are measured in the feature "
                "space of a digit classifier the project ships; this dataset has none, so they are off here.")
        return
    c1, c2 = st.columns([1, 3])
    viewer = not can_control()  # lecture mode: a class pressing this at once would starve the training
    n = c1.selectbox("Samples", SAMPLE_CHOICES, index=1, key="diag_n", disabled=viewer)
    usable = usable_samples(run.trainer.data, n)
    if usable < n:
        c1.caption(f"Uses **{usable:,}** per set: the metrics compare generated samples with two disjoint "
                   f"halves of the real images, and this dataset has {2 * usable + len(run.trainer.data.images) % 2:,}.")
    if c1.button("Compute quality metrics", key="diag_compute", type="primary", icon=":material/analytics:",
                 disabled=viewer, help="Lecture mode: the presenter computes these; the result shows here."
                 if viewer else None) and not refuse():
        bar = st.progress(0.0, text="Generating samples…")
        clf = load_for_dataset(view.dataset)  # stacked MNIST: the MNIST classifier on each channel
        real = run.call_in_loop(lambda tr: _real_images(tr, 2 * n))
        fake = []
        for i in range(0, n, 500):
            m = min(500, n - i)
            z = view.inputs(m, torch.Generator().manual_seed(1000 + i))
            fake.append(view.generate(z, torch.arange(m) % view.num_classes if view.num_classes else None))
            bar.progress(0.3 * (i + m) / n, text=f"Generating samples… {i + m:,}/{n:,}")
        fake = torch.cat(fake)
        result = evaluate_samples(fake, real, clf,
                                  progress=lambda msg, f: bar.progress(0.3 + 0.7 * min(max(f, 0.0), 1.0), text=msg))
        if view.dataset == "stacked_mnist":  # the mode count on these samples, beside a perfect generator's
            result.update(stacked_at(fake, clf))
        bar.empty()
        _shared_results()[run.id] = (run.id, view.step, result)
    saved = _shared_results().get(run.id)
    if saved:
        _show_result(saved[1], saved[2])
    else:
        c2.caption("Samples come from the generator as it is when you press the button; training continues.")


def stacked_reference() -> dict:
    """What a perfect generator scores on the live diagnostics' Stacked MNIST sample count."""
    from gan_core.diagnostics import CLASS_SAMPLES
    from gan_core.quality import uniform_mode_reference
    return uniform_mode_reference(CLASS_SAMPLES)


def stacked_at(fake: torch.Tensor, clf) -> dict:
    from gan_core.quality import stacked_mnist_modes, stacked_report
    return stacked_report(stacked_mnist_modes(fake, getattr(clf, "base", clf))["hist"])  # MNIST net per channel


def usable_samples(data, n: int) -> int:
    """How many samples per set the metrics can use when ``n`` are asked for: each of the two real halves
    needs n images (stacked MNIST builds as many real stacks as asked)."""
    if getattr(data, "reference", None) is not None or getattr(data, "images", None) is None:
        return n
    return min(n, len(data.images) // 2)


def _real_images(tr, n: int) -> torch.Tensor:
    """Up to n real training images (a fixed random subset; stacked MNIST builds its own reference)."""
    ref = getattr(tr.data, "reference", None)
    if ref is not None:
        return ref(n, 2024)[0].cpu()
    images = tr.data.images
    idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(2024))[:n]
    return images[idx.to(images.device)].cpu()


def _show_result(step: int, r: dict) -> None:
    rows = [("Fréchet distance (classifier features)", r.get("fid"), "real vs real at the same count",
             r.get("fid_floor"), "lower is better; compare with the floor, not with 0"),
            ("Inception-style score", r.get("inception_score"), "real images", r.get("inception_score_real"),
             "higher: confident and varied classes"),
            ("Precision (k=3)", r.get("precision"), "real B vs real A", r.get("precision_real"),
             "share of samples inside the real manifold"),
            ("Recall (k=3)", r.get("recall"), "real B vs real A", r.get("recall_real"),
             "share of the real manifold the samples reach"),
            ("Density (k=5)", r.get("density"), "real B vs real A", r.get("density_real"),
             "~1 when samples are as dense as real data"),
            ("Coverage (k=5)", r.get("coverage"), "real B vs real A", r.get("coverage_real"),
             "share of real neighbourhoods holding a sample")]
    if r.get("inception_score_mean") is not None:
        rows.insert(2, ("Inception-style score, 10 splits", _pm(r, "inception_score"), "real images",
                        _pm(r, "inception_score_real"), "mean ± std over 10 consecutive splits, as papers report"))
    stats, real_stats = r.get("class_stats") or {}, r.get("class_stats_real") or {}
    if stats:
        rows.append(("Classes covered", f"{stats['classes_covered']:.0f}", "real images",
                     f"{real_stats.get('classes_covered', float('nan')):.0f}", "classes holding ≥10% of a fair share"))
    if r.get("stacked_samples"):
        n = r["stacked_samples"]
        rows.append(("Stacked MNIST modes (of 1,000)", f"{r['stacked_modes_captured']:.0f}",
                     f"a perfect generator at {n:,} samples", f"{r['stacked_perfect_modes']:.0f}",
                     "the published protocol counts on 26,000 samples (`python -m gan_core evaluate`)"))
        rows.append(("Stacked MNIST KL to uniform", r["stacked_kl_to_uniform"], f"a perfect generator at {n:,}",
                     r["stacked_perfect_kl"], "lower is better; 0.019 is the floor at 26,000"))
    lines = ["| metric | generated | reference | reference is | reading |", "|---|---|---|---|---|"]
    for name, val, ref_name, ref, note in rows:
        lines.append(f"| {name} | **{_fmt(val)}** | {_fmt(ref) if ref is not None else ''} | {ref_name} | {note} |")
    st.markdown("\n".join(lines))
    st.caption(f"Generator at step {step:,}; {r.get('n', '?')} samples per set. Precision and recall count a "
               "point on a ball's edge as inside, density and coverage as outside, as in the authors' code; "
               "distances are exact (float64).")


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    return "–" if v is None or not np.isfinite(v) else f"{v:.3f}"


def _pm(r: dict, key: str) -> str:
    mean, std = r.get(f"{key}_mean"), r.get(f"{key}_std")
    return "–" if mean is None else f"{mean:.3f} ± {std:.3f}"
