"""Latent-space tools: interpolation (linear, spherical), vector arithmetic, principal directions.

- ``interpolate(a, b, steps, "slerp")`` follows White (2016): spherical interpolation keeps the path
  where a Gaussian prior puts its mass, while a straight line passes close to the origin.
- ``arithmetic(a, b, c)`` averages each group of latent vectors (three per group, as in the DCGAN paper)
  and returns mean(a) - mean(b) + mean(c).
- ``principal_directions(G, ...)`` is GANSpace-like (Härkönen et al. 2020) for a small generator: PCA of
  the generator's outputs over many samples, then for each component the direction in z that moves the
  output along it (a least-squares regression of the component's score on z), as a unit vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Points (1 - t) a + t b for each t; a, b (z,), t (T,) -> (T, z)."""
    t = t.to(a.dtype)[:, None]
    return (1 - t) * a[None] + t * b[None]


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between a and b (norms interpolated too); falls back to lerp when parallel."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:
        return lerp(a, b, t)
    t = t.to(a.dtype)[:, None]
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a[None] + (torch.sin(t * omega) / so) * b[None]


INTERPOLATIONS = {"linear": lerp, "spherical": slerp}


def interpolate(a: Tensor, b: Tensor, steps: int, mode: str = "spherical") -> Tensor:
    """``steps`` latent vectors from a to b inclusive: (steps, z)."""
    if mode not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {mode!r}; choices: {list(INTERPOLATIONS)}")
    if not 2 <= steps <= 256:
        raise ValueError(f"steps = {steps} is out of range [2, 256]")
    return INTERPOLATIONS[mode](a, b, torch.linspace(0, 1, steps, device=a.device))


def arithmetic(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """mean(a) - mean(b) + mean(c) for groups of latent vectors (n_i, z) -> (z,)."""
    for name, group in (("A", a), ("B", b), ("C", c)):
        if group.dim() != 2 or group.shape[0] == 0:
            raise ValueError(f"group {name} needs at least one latent vector")
    return a.mean(0) - b.mean(0) + c.mean(0)


def class_means(z: Tensor, labels: Tensor, n_classes: int) -> tuple[Tensor, Tensor]:
    """Mean latent vector per class (n_classes, z) and how many samples each mean averages (n_classes,)."""
    counts = torch.bincount(labels, minlength=n_classes)
    sums = torch.zeros(n_classes, z.shape[1], dtype=z.dtype, device=z.device).index_add_(0, labels, z)
    return sums / counts.clamp_min(1)[:, None].to(z.dtype), counts


@dataclass
class Directions:
    vectors: Tensor  # (k, z) unit directions in latent space
    explained: np.ndarray  # (k,) fraction of output variance of each principal component
    fit: np.ndarray  # (k,) R^2 of the linear fit of each component's score from z


@torch.no_grad()
def principal_directions(generator, z_dim: int, k: int = 8, n: int = 2048, seed: int = 0,
                         labels: Optional[Tensor] = None, device=None) -> Directions:
    """Latent directions that move the output along its top-k principal components."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)  # (n, z)
    dev = device if device is not None else next(generator.parameters()).device
    out = torch.cat([generator(zb.to(dev), None if labels is None else labels[i:i + 512].to(dev)).flatten(1).cpu()
                     for i, zb in zip(range(0, n, 512), z.split(512))]).double()  # (n, D)
    centred = out - out.mean(0)
    k = max(1, min(k, z_dim, centred.shape[1]))
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:k].T  # (n, k) coordinates on the top-k components
    zd = torch.cat([z.double(), torch.ones(n, 1, dtype=torch.float64)], 1)  # regress with an intercept
    beta = torch.linalg.lstsq(zd, scores).solution[:-1]  # (z, k)
    pred = zd[:, :-1] @ beta
    resid = ((scores - scores.mean(0)) - (pred - pred.mean(0))).pow(2).sum(0)
    r2 = 1 - resid / (scores - scores.mean(0)).pow(2).sum(0).clamp_min(1e-12)
    vectors = (beta / beta.norm(dim=0, keepdim=True).clamp_min(1e-12)).T.float()  # (k, z)
    explained = (s[:k] ** 2 / (s ** 2).sum().clamp_min(1e-12)).numpy()
    return Directions(vectors, explained, r2.clamp(0, 1).numpy())


def continuous_codes(model_cfg) -> int:
    from .families import get_family
    field = get_family(model_cfg.family).continuous_field
    return int(getattr(model_cfg, field)) if field else 0


def input_names(model_cfg, g_classes: int, data_names) -> list:
    """Names of the values of G's class input: "code 0".. for a learned code, else the data's class names
    (kept for unconditional generators too: the Latent lab labels class means with them)."""
    from .families import get_family
    if g_classes and get_family(model_cfg.family).labels == "code":
        return [f"code {i}" for i in range(g_classes)]
    return list(data_names or [])


def truncate(z: Tensor, psi: float) -> Tensor:
    """The truncation trick for a N(0, I) prior: pull z towards the mean by psi in [0, 1]."""
    if not 0.0 <= psi <= 1.0:
        raise ValueError(f"truncation psi = {psi} is out of range [0, 1]")
    return z * psi


@dataclass
class GeneratorView:
    """A frozen copy of a generator (eval mode, no gradients) plus what the latent lab needs to know.

    Made between two training steps, so pages can generate from it on their own thread while the
    original keeps training; swapping in a newer copy never disturbs a reader of the old one."""
    G: torch.nn.Module
    step: int
    z_dim: int
    num_classes: int  # > 0 only for a generator with a class input (a class, or InfoGAN's categorical code)
    class_names: list
    data_shape: tuple  # (C, H, W) for images, (dim,) for toy data
    is_image: bool
    dataset: str
    device: torch.device
    made_at: float = 0.0
    family: str = "gan"
    continuous_codes: int = 0  # InfoGAN: z's last this-many entries are continuous codes
    source_bank: Optional[Tensor] = None  # a translating G (CycleGAN): domain-A samples it is shown (CPU)
    source_labels: Optional[Tensor] = None  # their labels, when domain A is labelled

    def __post_init__(self) -> None:
        bank = getattr(self.G, "bank", None)  # CycleG keeps its bank of domain-A samples as a buffer
        if self.source_bank is None and bank is not None:
            self.source_bank = bank.detach().float().cpu()
            labels = self.G.bank_labels.cpu()
            self.source_labels = labels if bool((labels >= 0).all()) else None

    @property
    def translates(self) -> bool:
        """Whether G's input is a domain-A sample (CycleGAN) rather than noise."""
        return self.source_bank is not None

    def inputs(self, n: int, gen: torch.Generator, with_labels: bool = False):
        """``n`` inputs for G on the CPU: N(0, I) noise, or domain-A samples drawn from the bank (with their
        labels, or None, when ``with_labels``)."""
        if not self.translates:
            z = torch.randn(n, self.z_dim, generator=gen)
            return (z, None) if with_labels else z
        idx = torch.randint(0, self.source_bank.shape[0], (n,), generator=gen)
        x = self.source_bank[idx]
        if with_labels:
            return x, (self.source_labels[idx] if self.source_labels is not None else None)
        return x

    @classmethod
    def of(cls, trainer, made_at: float = 0.0) -> "GeneratorView":
        import copy
        g = copy.deepcopy(trainer.g_eval).eval().requires_grad_(False)  # the averaged G when g_ema is on
        names = input_names(trainer.cfg.model, trainer.num_classes, getattr(trainer.data, "class_names", None))
        return cls(g, trainer.step_count, trainer.cfg.model.z_dim, trainer.num_classes, names,
                   tuple(trainer.data_shape), trainer.is_image, trainer.cfg.data.dataset, trainer.device, made_at,
                   trainer.cfg.model.family, continuous_codes(trainer.cfg.model))

    @property
    def is_code(self) -> bool:
        """Whether the class input is a learned code (InfoGAN) rather than the data's labels."""
        return self.num_classes > 0 and self.family_spec().labels == "code"

    def family_spec(self):
        from .families import get_family
        return get_family(self.family)

    @torch.no_grad()
    def translate(self, x: Tensor, back: bool = False) -> Tensor:
        """A translating G's A -> B (or, ``back``, B -> A) translation of ``x`` on the CPU."""
        if not self.translates:
            raise ValueError("this generator takes noise, not samples: it does not translate")
        net = self.G.ba if back else self.G.ab
        return net(x.to(self.device, torch.float32)).float().cpu()

    @torch.no_grad()
    def generate(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        """G(z[, y]) for z (B, z_dim) on the CPU (or domain-A samples for a translating G); CPU tensors out."""
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: choose a class")
        z = z.to(self.device, torch.float32)
        y = y.to(self.device) if (y is not None and self.num_classes) else None
        return self.G(z, y).float().cpu()
