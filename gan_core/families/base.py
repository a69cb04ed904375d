"""What a GAN family declares (see ``gan_core.families``), and the helpers every family's build shares."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional


@dataclass(frozen=True)
class Chart:
    """One live chart of a family's own metrics: a title, the history columns drawn, a caption, and
    optional horizontal reference lines {label: value} (a perfect score, a bound)."""
    title: str
    columns: tuple
    caption: str = ""
    y_title: str = ""
    lines: Callable = None  # (cfg) -> {label: value}; None: no reference line
    names: tuple = ()  # legend names of ``columns`` (default: the column names)

    def label(self, column: str) -> str:
        return dict(zip(self.columns, self.names)).get(column, column)


@dataclass(frozen=True)
class Overview:
    """How the Train page's model strip (input -> G -> fake -> D -> output, with real data into D) names a
    family's parts, and which step metrics it shows under each: (label, history column) pairs. An empty
    ``z`` or ``fake`` is derived from the family's ``labels`` and ``g_input`` (``Family.overview_parts``)."""
    z: str = ""  # G's input ("" : z, with the class y or code c when G takes one, or a sample a of domain A)
    g: str = "G"
    fake: str = ""  # G's output ("": G(z), G(z, y), ...)
    real: str = "x"  # a real sample
    d: str = "D"
    out: str = "p(real)"  # what D says about a sample
    g_values: tuple = (("loss", "g_loss"), ("∇", "g_grad_norm"))
    d_values: tuple = (("loss", "d_loss"), ("∇", "d_grad_norm"))  # each network: its loss and gradient norm
    out_values: tuple = (("real", "d_real_mean"), ("fake", "d_fake_mean"))  # mean D(x), D(G(z))
    g_note: Callable = None  # (cfg) -> the D whose verdict G's gradient flows back through, when not today's D


@dataclass(frozen=True)
class Family:
    name: str
    title: str  # how the setup panel names it
    about: str  # one line for the setup panel and `python -m gan_core presets`
    build: Callable  # (model_cfg, data_shape, data_classes, is_image) -> {"G": module, "D": module, ...}
    step: Callable  # (trainer, which, parts) -> None: one iteration; fills metric groups into ``parts``
    labels: str = "none"  # G's class input: "none", "data" (the data's labels) or "code" (a sampled code)
    metrics: tuple = ()  # extra per-step metrics (one float each), appended to metrics.STEP_METRICS
    charts: tuple = ()  # Chart(...) of those metrics on the Train page
    packable: bool = False  # D is a plain critic: PacGAN packing applies
    uses_loss: bool = True  # the loss registry (loss.loss) drives the adversarial terms
    check: Optional[Callable] = None  # (cfg) -> None, raising ValueError naming the field
    evaluate: Optional[Callable] = None  # (view, classifier, n) -> {figure: value}, for `evaluate`
    live_fields: tuple = ()  # config fields this family adds to the live panel
    setup_fields: tuple = ()  # config fields this family adds to the setup panel (before Start)
    extra_d_passes: Optional[Callable] = None  # (cfg) -> D forward+backward passes a step adds (budget)
    continuous_field: str = ""  # the ModelConfig field counting continuous codes (z's last entries), if any
    g_input: str = "noise"  # what G takes: "noise" (z) or "source" (a sample of domain A, data.source)
    overview: Overview = Overview()  # the Train page's model strip: names of the parts, values shown

    def overview_parts(self) -> Overview:
        """``overview`` with G's input and output named from ``labels`` and ``g_input`` where it leaves them
        empty: z, (z, y) for the data's classes, (z, c) for a sampled code, a for a sample of domain A."""
        z = self.overview.z or ("a" if self.g_input == "source" else
                                {"data": "z, y", "code": "z, c"}.get(self.labels, "z"))
        return replace(self.overview, z=z, fake=self.overview.fake or f"G({z})")

    def classes(self, model_cfg, data_classes: int) -> int:
        """How many values G's class input takes (0: G takes none)."""
        if self.labels == "data":
            return data_classes
        if self.labels == "code":
            return model_cfg.info_categories
        return 0
