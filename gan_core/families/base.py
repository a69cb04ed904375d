"""What a GAN family declares (see ``gan_core.families``), and the helpers every family's build shares."""
from __future__ import annotations

from dataclasses import dataclass
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

    def classes(self, model_cfg, data_classes: int) -> int:
        """How many values G's class input takes (0: G takes none)."""
        if self.labels == "data":
            return data_classes
        if self.labels == "code":
            return model_cfg.info_categories
        return 0
