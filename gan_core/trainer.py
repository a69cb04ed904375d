"""One GAN iteration at a time, with no threads and no UI: ``Trainer(config).step()``.

A step runs ``d_steps`` discriminator updates and one generator update (or only one of them for
``step("d")`` / ``step("g")``) and returns one float32 vector of ``metrics.STEP_METRICS`` that stays on the
device, so a caller can batch the host copies. All randomness comes from the trainer's own generators:
the same seed and config give the same losses on the CPU. ``gan_core.run.Run`` drives this in a thread.

    python -c "from gan_core.trainer import Trainer; from gan_core.presets import preset_config as p; \
t = Trainer(p('ring8')); print([t.step()[0].item() for _ in range(3)])"
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional

import torch
import torch.nn as nn

from . import budget
from .config import Config
from .data import load_dataset
from .losses import PENALTIES, get_loss
from .metrics import grad_norm
from .models import build_models

# Step metrics in groups, in STEP_METRICS order: (group, length); the step concatenates them once.
METRIC_GROUPS = (("d_losses", 3), ("g_loss", 1), ("d_acc", 2), ("d_means", 2), ("g_grad_norm", 1),
                 ("d_grad_norm", 1), ("penalty", 1), ("finite", 1))
_INIT_LOCK = threading.Lock()  # model init draws from torch's global RNG: serialise it across threads
NAN = float("nan")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def cpu_threads(cfg: Config) -> int:
    """Intra-op threads for CPU training. Small MLP ops do not parallelise, and with the UI and a browser
    on the same cores, spinning worker threads stall each other (measured: 19 it/s instead of 400 on
    2 cores); convnets get all cores but one, which stays free for the app."""
    if cfg.train.cpu_threads:
        return cfg.train.cpu_threads
    return 1 if cfg.model.arch == "mlp" else max(1, (os.cpu_count() or 2) - 1)


def make_optimizer(cfg: Config, params, lr: float) -> torch.optim.Optimizer:
    t = cfg.train
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(t.beta1, t.beta2), fused=True)  # one kernel, CPU too
    if t.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=t.beta2, foreach=True)
    if t.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=t.beta1, foreach=True)
    raise ValueError(f"unknown train.optimizer {t.optimizer!r}; choices: ['adam', 'rmsprop', 'sgd']")


def _has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


class Trainer:
    def __init__(self, cfg: Config, dataset=None, progress: Optional[Callable[[str, float], None]] = None):
        self.cfg = cfg
        self.device = resolve_device(cfg.train.device)
        if dataset is None:  # refuse what cannot fit or never finishes a step, before a slow data load
            budget.check(cfg, budget.data_shape_for(cfg), self.device)
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads(cfg))
        data = dataset if dataset is not None else load_dataset(cfg.data, progress)
        self.data = data.to(self.device) if hasattr(data, "to") else data
        self.is_image = not cfg.data.is_toy
        self.data_shape = tuple(self.data.shape) if self.is_image else (self.data.dim,)
        if dataset is not None:
            budget.check(cfg, self.data_shape, self.device, self.data.num_classes, data_loaded=True)
        self.num_classes = self.data.num_classes if cfg.model.conditional else 0
        with _INIT_LOCK:
            torch.manual_seed(cfg.train.seed)
            self.G, self.D = build_models(cfg.model, self.data_shape, self.data.num_classes, self.is_image)
        self.G.to(self.device)
        self.D.to(self.device)
        self.gen = torch.Generator(self.device).manual_seed(cfg.train.seed)  # data, z, penalties
        self.eval_gen = torch.Generator(self.device).manual_seed(cfg.train.seed + 1)  # kept apart from training
        self.opt_g = make_optimizer(cfg, self.G.parameters(), cfg.train.lr_g)
        self.opt_d = make_optimizer(cfg, self.D.parameters(), cfg.train.lr_d)
        self.d_concat = not _has_batchnorm(self.D)  # one D pass over [real; fake] when no batch statistics
        self.g_params = list(self.G.parameters())
        self.d_params = list(self.D.parameters())
        self._nan = {n: torch.full((n,), NAN, device=self.device) for n in (1, 2, 3)}
        self._zero = torch.zeros(1, device=self.device)
        self._acc_flip = torch.tensor([0.0, 1.0], device=self.device)
        self.step_count = 0
        self._d_updates = 0  # counts D updates, for lazy R1
        self.viz_z = torch.randn(512, cfg.model.z_dim, generator=self.eval_gen, device=self.device)
        self.fixed_z = self.viz_z[:64]  # the sample grid's noise: the same vectors for the whole run
        self.fixed_y = (torch.arange(64, device=self.device) % self.num_classes) if self.num_classes else None
        self.apply_config(cfg)

    # ---- configuration ---------------------------------------------------------------------------------
    def apply_config(self, cfg: Config) -> None:
        """Adopt changed live hyperparameters (learning rates, loss, penalties...) from the next step on."""
        self.cfg = cfg
        self.loss = get_loss(cfg.loss.loss)
        t = cfg.train
        for opt, lr in ((self.opt_g, t.lr_g), (self.opt_d, t.lr_d)):
            for group in opt.param_groups:
                group["initial_lr"] = lr
                if "betas" in group:
                    group["betas"] = (t.beta1, t.beta2)
                if "alpha" in group:
                    group["alpha"] = t.beta2
                if "momentum" in group:
                    group["momentum"] = t.beta1
        self._lr_factor = None  # force the schedule to rewrite lrs

    def lr_factor(self) -> float:
        """The schedule's multiplier for the next step: 1, or decaying linearly to lr_final_factor."""
        t = self.cfg.train
        if not t.lr_decay_steps:
            return 1.0
        return 1.0 - (1.0 - t.lr_final_factor) * min(1.0, self.step_count / t.lr_decay_steps)

    def update_lr(self) -> None:
        """Write the scheduled learning rates into the optimisers (a no-op when unchanged)."""
        factor = self.lr_factor()
        if factor != self._lr_factor:
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = group["initial_lr"] * factor
            self._lr_factor = factor

    def noise_std(self) -> float:
        lc = self.cfg.loss
        if lc.instance_noise <= 0:
            return 0.0
        if lc.noise_anneal_steps <= 0:
            return lc.instance_noise
        return lc.instance_noise * max(0.0, 1.0 - self.step_count / lc.noise_anneal_steps)

    # ---- one iteration ---------------------------------------------------------------------------------
    def _noisy(self, x: torch.Tensor, std: float) -> torch.Tensor:
        return x + std * torch.randn(x.shape, generator=self.gen, device=x.device) if std > 0 else x

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.z_dim, generator=self.gen, device=self.device)

    def step(self, which: str = "both") -> torch.Tensor:
        """One iteration; ``which`` is "both", "d" (discriminator only) or "g" (generator only)."""
        if which not in ("both", "d", "g"):
            raise ValueError(f"which = {which!r} is not one of ['both', 'd', 'g']")
        self.update_lr()
        cfg, spec = self.cfg, self.loss
        batch, std = cfg.train.batch_size, self.noise_std()
        target = 1.0 - cfg.loss.label_smoothing if spec.smoothing else 1.0
        parts: dict = {}  # metric groups as 1-D tensors, concatenated once at the end
        fake = y = None
        if which in ("both", "d"):
            for k in range(cfg.train.d_steps):
                keep_graph = which == "both" and k == cfg.train.d_steps - 1  # reuse this fake for the G step
                real, y = self.data.sample(batch, self.gen, self.device)
                y = y if self.num_classes else None
                with torch.set_grad_enabled(keep_graph):
                    fake = self.G(self._z(batch), y)
                self._d_update(real, fake.detach(), y, spec, target, std, parts)
        if which in ("both", "g"):
            if fake is None:
                _, y = self.data.sample(batch, self.gen, self.device) if self.num_classes else (None, None)
                fake = self.G(self._z(batch), y)
            self._g_update(fake, y, spec, std, parts)
        self.step_count += 1
        losses = torch.cat([parts[k] for k in ("d_losses", "g_loss") if k in parts])
        parts["finite"] = torch.isfinite(losses).all().float().view(1)
        return torch.cat([parts[name] if name in parts else self._nan[n] for name, n in METRIC_GROUPS])

    def _critic(self, y):
        return (lambda x: self.D(x, y)) if self.num_classes else self.D

    def _d_update(self, real, fake, y, spec, target, std, parts) -> None:
        real_in, fake_in = self._noisy(real, std), self._noisy(fake, std)
        lc = self.cfg.loss
        r1 = lc.r1_gamma * lc.r1_every if lc.r1_gamma > 0 and self._d_updates % lc.r1_every == 0 else 0.0
        self._d_updates += 1
        if r1 > 0:
            real_in = real_in.detach().requires_grad_(True)
        if self.d_concat:
            yy = torch.cat([y, y]) if y is not None else None
            scores = self.D(torch.cat([real_in, fake_in]), yy)
            d_real, d_fake = scores[:real.shape[0]], scores[real.shape[0]:]
        else:
            d_real, d_fake = self.D(real_in, y), self.D(fake_in, y)
            scores = None
        loss_real, loss_fake = spec.d(d_real, d_fake, target)
        loss = loss_real + loss_fake
        penalty = None
        if r1 > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
            penalty = 0.5 * r1 * grad.flatten(1).pow(2).sum(1).mean()
        if spec.penalty:
            extra = PENALTIES[spec.penalty](self._critic(y), real, fake, self.cfg.loss.gp_weight, self.gen)
            penalty = extra if penalty is None else penalty + extra
        if penalty is not None:
            loss = loss + penalty
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if spec.clip:
            c = self.cfg.loss.clip_value
            with torch.no_grad():
                for p in self.d_params:
                    p.clamp_(-c, c)
        with torch.no_grad():
            both = (scores if scores is not None else torch.cat([d_real, d_fake])).detach().view(2, -1)  # (2, B)
            thr = spec.threshold if spec.threshold is not None else both.mean()
            # fraction called "real", [of reals, of fakes]; a score exactly at the threshold is undecided and
            # counts half on each side (a constant D reads 50% / 50%, not 0% / 100%)
            above = torch.sign(both - thr).mean(1).mul(0.5).add(0.5)
            shown = torch.sigmoid(both) if spec.output == "logit" else both
            parts["d_losses"] = torch.stack([loss_real + loss_fake, loss_real, loss_fake]).detach()
            parts["d_acc"] = (above - self._acc_flip).abs()  # [acc on real, 1 - above on fake]
            parts["d_means"] = shown.mean(1)
            parts["d_grad_norm"] = grad_norm(self.d_params).view(1)
            parts["penalty"] = penalty.detach().view(1) if penalty is not None else self._zero

    def _g_update(self, fake, y, spec, std, parts) -> None:
        scores = self.D(self._noisy(fake, std), y)
        loss = spec.g(scores)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward(inputs=self.g_params)  # no gradients accumulated into D
        self.opt_g.step()
        with torch.no_grad():
            parts["g_loss"] = loss.detach().view(1)
            parts["g_grad_norm"] = grad_norm(self.g_params).view(1)
            if "d_means" not in parts:  # G-only step: report D's view of the fakes it just saw
                shown = (torch.sigmoid(scores) if spec.output == "logit" else scores).mean().view(1)
                parts["d_means"] = torch.cat([self._nan[1], shown])

    # ---- sampling (no effect on the training RNG) ------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        z = torch.randn(n, self.cfg.model.z_dim, generator=self.eval_gen, device=self.device)
        if self.num_classes and y is None:
            y = torch.randint(0, self.num_classes, (n,), generator=self.eval_gen, device=self.device)
        return self.G(z, y if self.num_classes else None)

    @torch.no_grad()
    def fixed_samples(self) -> torch.Tensor:
        return self.G(self.fixed_z, self.fixed_y)
