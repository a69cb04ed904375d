"""Validated configuration for a GAN run: data, model, loss and training, one dataclass each.

Build from plain dicts (widgets, JSON, CLI ``--set key=value``) with ``Config.from_dict`` or
``Config.with_overrides``; every value is checked on construction and a bad one raises
``ValueError`` naming the field and the allowed range or choices, e.g.
``train.lr_g = 5.0 is out of range [1e-06, 1.0]``. Field names are unique across the four
sections, so a flat key such as ``lr_g`` is enough; ``train.lr_g`` works too.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from .config_points import MAX_POINTS, MIN_POINTS, POINT_BOX, Points, parse_points, points_text  # noqa: F401
from .config_rules import Choice, Range, Registry, Text, _f, _validate  # noqa: F401

TOY_DATASETS = ("gauss1d", "line", "quadratic", "ring8", "grid25", "spiral", "drawn")
IMAGE_DATASETS = ("digits", "digits_inverted", "mnist", "fashion_mnist", "folder", "stacked_mnist")
DATASETS = TOY_DATASETS + IMAGE_DATASETS
LOSS_NAMES = ("minimax", "non_saturating", "least_squares", "wgan", "wgan_gp", "hinge", "dragan")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "silu")
DCGAN_SIZES = (28, 32, 64)
NATIVE_28 = ("mnist", "fashion_mnist", "stacked_mnist")  # image_size 0 means 28 px


@dataclass
class DataConfig:
    dataset: str = _f("ring8", Choice(*DATASETS))  # toy 1D/2D distribution or image set
    path: str = _f("", Text())  # image folder or .zip, for dataset="folder"
    data_dir: str = _f("", Text())  # where mnist/ and fashion_mnist/ live; "" -> $GAN_PLAYGROUND_DATA or ./data
    image_size: int = _f(0, Range(0, 128))  # 0 = the dataset's native size (8 for digits, 28 for MNIST)
    channels: int = _f(0, Choice(0, 1, 3))  # 0 = native (1 for digits/MNIST, 3 for folders and stacked_mnist)
    download: bool = _f(True)  # fetch MNIST/Fashion-MNIST when absent (checksummed)
    max_images: int = _f(0, Range(0, 10_000_000))  # cap on images loaded; 0 = all
    source: str = _f("", Choice("", *DATASETS))  # CycleGAN: domain A (translated into data.dataset, domain B)
    source_path: str = _f("", Text())  # CycleGAN: domain A's image folder or .zip, for source = "folder"
    points: tuple = _f((), Points())  # dataset "drawn": the drawn (x, y) points, each in [-4, 4]
    point_std: float = _f(0.05, Range(0.0, 0.5))  # dataset "drawn": std of the Gaussian jitter around each
    # drawn point, so the data is a continuous distribution (0 = exactly the drawn points)

    def __post_init__(self) -> None:
        _validate(self, "data")
        if 0 < self.image_size < 4:
            raise ValueError(f"data.image_size = {self.image_size} is out of range [4, 128] (or 0 for native)")
        if self.dataset == "folder" and not self.path:
            raise ValueError("data.path must name an image folder or .zip when data.dataset = 'folder'")
        if self.source == "folder" and not self.source_path:
            raise ValueError("data.source_path must name an image folder or .zip when data.source = 'folder'")
        if "drawn" in (self.dataset, self.source) and len(self.points) < MIN_POINTS:
            field = "data.dataset" if self.dataset == "drawn" else "data.source"
            raise ValueError(f"data.points holds {len(self.points)} point{'' if len(self.points) == 1 else 's'}; "
                             f"{field} = 'drawn' needs at least {MIN_POINTS} (draw them in Setup → Data, or "
                             "--set points=x1,y1;x2,y2;...)")

    @property
    def is_toy(self) -> bool:
        return self.dataset in TOY_DATASETS


@dataclass
class ModelConfig:
    family: str = _f("gan", Registry("gan_core.families", "FAMILIES"))  # kind of GAN: see gan_core.families
    arch: str = _f("mlp", Choice("mlp", "dcgan"))  # MLP for toy data and small images; DCGAN for 28/32/64 px
    z_dim: int = _f(2, Range(1, 512))  # latent size; 2 makes the latent space easy to picture
    g_hidden: int = _f(64, Range(4, 4096))  # MLP generator width
    d_hidden: int = _f(64, Range(4, 4096))  # MLP discriminator width
    depth: int = _f(2, Range(1, 8))  # MLP hidden layers (both networks)
    activation: str = _f("relu", Choice(*ACTIVATIONS))  # MLP hidden activation
    ngf: int = _f(64, Range(4, 512))  # DCGAN generator base channels
    ndf: int = _f(64, Range(4, 512))  # DCGAN discriminator base channels
    upsample: str = _f("transposed", Choice("transposed", "resize", "mixed", "transposed3"))  # DCGAN G: transposed
    # conv k4 s2; resize = upsample + conv (no checkerboard); mixed = resize, then transposed in the last two
    # layers; transposed3 = k3 s2 (uneven overlap: checkerboards on purpose)
    g_norm: str = _f("none", Choice("none", "batch"))  # normalisation in G's hidden layers
    d_norm: str = _f("none", Choice("none", "batch", "spectral"))  # normalisation in D
    embed_dim: int = _f(16, Range(1, 512))  # label (or categorical code) embedding size for G
    pack: int = _f(1, Range(1, 8))  # PacGAN: D judges packs of this many samples (gan, unrolled)
    mbstd: bool = _f(False)  # minibatch standard deviation feature in D (Karras et al. 2018)
    info_categories: int = _f(10, Range(2, 32))  # InfoGAN: values of the categorical code
    info_continuous: int = _f(2, Range(0, 8))  # InfoGAN: continuous codes (z's last entries)

    def __post_init__(self) -> None:
        _validate(self, "model")

    @property
    def conditional(self) -> bool:
        """Whether G and D take the data's class labels (cgan, acgan)."""
        from .families import get_family
        return get_family(self.family).labels == "data"


@dataclass
class LossConfig:
    loss: str = _f("non_saturating", Choice(*LOSS_NAMES), live=True)  # see gan_core.losses.LOSSES
    label_smoothing: float = _f(0.0, Range(0.0, 0.5), live=True)  # one-sided: real target = 1 - s
    instance_noise: float = _f(0.0, Range(0.0, 5.0), live=True)  # std of Gaussian noise added to D inputs
    noise_anneal_steps: int = _f(0, Range(0, 10_000_000), live=True)  # linear anneal to 0; 0 = constant
    r1_gamma: float = _f(0.0, Range(0.0, 1000.0), live=True)  # R1 penalty gamma/2 * |grad D(x_real)|^2
    r1_every: int = _f(1, Range(1, 64), live=True)  # lazy R1 (StyleGAN2): every k D steps, weighted by k
    gp_weight: float = _f(10.0, Range(0.0, 1000.0), live=True)  # lambda of WGAN-GP and DRAGAN penalties
    clip_value: float = _f(0.01, Range(1e-4, 10.0), live=True)  # WGAN weight clipping bound
    aux_weight: float = _f(1.0, Range(0.0, 100.0), live=True)  # AC-GAN: weight of the class head's loss
    aux_fake_weight: float = _f(1.0, Range(0.0, 1.0), live=True)  # AC-GAN: D's head also learns G's images
    # with this weight (1 = Odena et al.; 0 = real images only, which cannot agree on classes of its own with G)
    info_weight: float = _f(1.0, Range(0.0, 100.0), live=True)  # InfoGAN: weight of the code loss (lambda)
    began_gamma: float = _f(0.5, Range(0.01, 1.0), live=True)  # BEGAN diversity ratio E[L(fake)] / E[L(real)]
    began_lambda_k: float = _f(0.001, Range(0.0, 1.0), live=True)  # BEGAN: learning rate of the balance k_t
    cycle_weight: float = _f(10.0, Range(0.0, 100.0), live=True)  # CycleGAN: weight of the cycle L1 (lambda)
    identity_weight: float = _f(0.0, Range(0.0, 10.0), live=True)  # CycleGAN: identity L1 |G_AB(b) - b|, times
    # cycle_weight; 0 = off (Zhu et al. use 0.5 where colours should survive, e.g. painting -> photo)

    def __post_init__(self) -> None:
        _validate(self, "loss")


@dataclass
class TrainConfig:
    batch_size: int = _f(256, Range(1, 8192), live=True)  # samples per D and per G step
    lr_g: float = _f(1e-3, Range(1e-6, 1.0), live=True)  # generator learning rate
    lr_d: float = _f(1e-3, Range(1e-6, 1.0), live=True)  # discriminator learning rate
    optimizer: str = _f("adam", Choice("adam", "rmsprop", "sgd"))  # same kind for both networks
    beta1: float = _f(0.5, Range(0.0, 0.999), live=True)  # Adam beta1; SGD momentum; unused by RMSprop
    beta2: float = _f(0.999, Range(0.0, 0.9999), live=True)  # Adam beta2; RMSprop alpha
    d_steps: int = _f(1, Range(1, 20), live=True)  # discriminator updates per generator update
    unroll_steps: int = _f(5, Range(0, 20), live=True)  # unrolled GAN: D updates G looks ahead; 0 = plain GAN
    lr_decay_steps: int = _f(0, Range(0, 10_000_000), live=True)  # linear lr decay length; 0 = constant
    lr_final_factor: float = _f(0.05, Range(0.0, 1.0), live=True)  # lr multiplier reached at the decay end
    seed: int = _f(0, Range(0, 2**31 - 1))  # same seed + config -> same losses on CPU
    device: str = _f("auto", Choice("auto", "cpu", "cuda"))  # auto = CUDA when present
    cpu_threads: int = _f(0, Range(0, 256))  # torch CPU threads; 0 = auto (1 for MLPs, cores-1 for convnets)
    metrics_every: int = _f(100, Range(1, 1_000_000), live=True)  # steps between mode-coverage evaluations (2D data)
    max_steps: int = _f(0, Range(0, 100_000_000), live=True)  # the run pauses itself here; 0 = no limit
    snapshot_every: int = _f(200, Range(0, 1_000_000), live=True)  # steps between in-memory "last good"
    # snapshots that a diverged run can roll back to; 0 = none
    g_ema: float = _f(0.0, Range(0.0, 0.9999), live=True)  # decay of the averaged G that samples, pictures
    # and evaluations use (gan_core/ema.py); 0 = off: they use the training G
    autosave_minutes: float = _f(5.0, Range(0.0, 1440.0), live=True)  # checkpoint to the run's folder this
    # often while it trains (app: runs/<id>/, CLI: --out); 0 = only on Save

    def __post_init__(self) -> None:
        _validate(self, "train")


SECTIONS = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig, "train": TrainConfig}
FIELD_SECTION = {f.name: sec for sec, cls in SECTIONS.items() for f in fields(cls)}
LIVE_FIELDS = frozenset(f.name for cls in SECTIONS.values() for f in fields(cls) if f.metadata.get("live"))


# Settings kept for older configs and checkpoints: name -> section. ``conditional = true`` means
# family "cgan" (and false turns a cgan back into a plain gan).
LEGACY_FIELDS = {"conditional": "model"}


def _section(name: str) -> str:
    return FIELD_SECTION.get(name) or LEGACY_FIELDS[name]


def _apply_legacy(model: dict) -> None:
    """``conditional`` (older configs, ``--set conditional=true``) as the family it means."""
    if "conditional" not in model:
        return
    value = model.pop("conditional")
    if not isinstance(value, bool):
        raise ValueError(f"model.conditional = {value!r} must be of type bool")
    family = model.get("family", "gan")
    if value and family == "gan":
        model["family"] = "cgan"
    elif not value and family == "cgan":
        model["family"] = "gan"
    elif value != (family in ("cgan", "acgan")):
        raise ValueError(f"model.conditional = {value} contradicts model.family = {family!r}; set the family")


def field_spec(name: str):
    """The dataclass field of a setting (its default, and its rule under ``metadata["rule"]``)."""
    return next(f for f in fields(SECTIONS[FIELD_SECTION[name]]) if f.name == name)


def field_type(name: str) -> type:
    if name in LEGACY_FIELDS:
        return bool
    f = field_spec(name)
    return {"int": int, "float": float, "bool": bool, "str": str, "tuple": tuple}.get(str(f.type), f.type)


def parse_value(name: str, text: str) -> Any:
    """Turn a command-line string into the field's type, with a field-named error."""
    kind = field_type(name)
    qual = f"{_section(name)}.{name}"
    if kind is tuple:
        return parse_points(qual, text)
    try:
        if kind is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
    except ValueError:
        raise ValueError(f"{qual} = {text!r} is not a valid {kind.__name__}") from None
    return text


def resolve_key(key: str) -> str:
    """'lr_g' or 'train.lr_g' -> 'lr_g'; unknown keys raise ValueError listing nothing secret."""
    if not isinstance(key, str):
        raise ValueError(f"setting names must be strings, got {key!r}")
    name = key.split(".", 1)[1] if "." in key else key
    section = FIELD_SECTION.get(name) or LEGACY_FIELDS.get(name)
    if section is None or ("." in key and key.split(".", 1)[0] != section):
        raise ValueError(f"unknown setting {key!r}; known settings: {', '.join(sorted(FIELD_SECTION))}")
    return name


def live_changes(changes: dict) -> dict:
    """``changes`` ({key: value}, keys flat or ``section.key``) with flat names, if every one of them may change
    while a run trains; else ValueError naming those that may not."""
    names = {resolve_key(k): v for k, v in changes.items()}
    frozen = sorted(n for n in names if n not in LIVE_FIELDS)
    if frozen:
        raise ValueError(f"{', '.join(frozen)} cannot change during a run; change the setup and press Reset")
    return names


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        m, d = self.model, self.data
        if m.arch == "dcgan":
            if d.is_toy:
                raise ValueError(f"model.arch = 'dcgan' needs image data, but data.dataset = {d.dataset!r}")
            if d.image_size not in DCGAN_SIZES and not (d.image_size == 0 and d.dataset in NATIVE_28):
                raise ValueError(f"data.image_size = {d.image_size} must be one of {list(DCGAN_SIZES)} for DCGAN")
        from .families import FAMILIES, get_family
        family = get_family(m.family)
        if family.check is not None:
            family.check(self)
        if (m.pack > 1 or m.mbstd) and m.arch == "mlp" and m.d_norm == "batch":
            raise ValueError("model.pack and model.mbstd need batch statistics of D's own: use model.d_norm "
                             "'none' or 'spectral' with them")
        if m.pack > 1:
            if not family.packable:
                packable = [n for n, f in FAMILIES.items() if f.packable]
                raise ValueError(f"model.pack = {m.pack} needs a family whose D is a plain critic ({packable}), "
                                 f"not model.family = {m.family!r}")
            if self.train.batch_size % m.pack:
                raise ValueError(f"train.batch_size = {self.train.batch_size} must be a multiple of model.pack = "
                                 f"{m.pack} (D judges packs of {m.pack} samples)")
        if m.mbstd and family.name == "began":
            raise ValueError("model.mbstd needs a classifying D; BEGAN's D is an autoencoder")

    def to_dict(self) -> dict:
        """Plain JSON-shaped values (the drawn points as lists of [x, y]), what config.json holds."""
        out = {sec: dataclasses.asdict(getattr(self, sec)) for sec in SECTIONS}
        out["data"]["points"] = [list(p) for p in out["data"]["points"]]
        return out

    def flat(self) -> dict:
        return {k: v for sec in SECTIONS for k, v in dataclasses.asdict(getattr(self, sec)).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """From a nested ({'train': {...}}) or flat ({'lr_g': ...}) dict; unknown keys are errors."""
        if not isinstance(d, dict):
            raise ValueError(f"config must be a JSON object, not {type(d).__name__}")
        nested: dict[str, dict] = {sec: {} for sec in SECTIONS}
        for key, value in d.items():
            if key in SECTIONS and (isinstance(value, dict) or key not in FIELD_SECTION):  # 'loss' is both
                if not isinstance(value, dict):
                    raise ValueError(f"config section {key!r} must be an object")
                for k, v in value.items():
                    nested[key][resolve_key(f"{key}.{k}")] = v
            else:
                name = resolve_key(key)
                nested[_section(name)][name] = value
        _apply_legacy(nested["model"])
        return cls(**{sec: SECTIONS[sec](**vals) for sec, vals in nested.items()})

    @classmethod
    def from_json(cls, text) -> "Config":
        """From JSON text (a saved ``config.json``, whose config sits under "config", or a plain config);
        invalid JSON or values raise ValueError saying where and which field."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("config file is not UTF-8 text (expected JSON)") from None
        import json
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"config is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise ValueError("config JSON is nested too deeply") from None
        if isinstance(d, dict) and isinstance(d.get("config"), dict) and "format" in d:
            d = d["config"]  # a checkpoint's config.json
        return cls.from_dict(d)

    def replace(self, **flat: Any) -> "Config":
        """A validated copy with some flat fields changed."""
        d = self.to_dict()
        for key, value in flat.items():
            name = resolve_key(key)
            d[_section(name)][name] = value
        return Config.from_dict(d)

    def with_overrides(self, pairs: list[str]) -> "Config":
        """Apply CLI-style 'key=value' strings."""
        return self.replace(**parse_overrides(pairs))


def parse_overrides(pairs: list[str]) -> dict:
    """CLI-style 'key=value' strings -> {field name: typed value}; errors name the field or the pair."""
    changes = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        key, text = pair.split("=", 1)
        name = resolve_key(key.strip())
        changes[name] = parse_value(name, text.strip())
    return changes
