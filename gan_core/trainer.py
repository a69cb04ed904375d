"""One GAN iteration at a time, with no threads and no UI: ``Trainer(config).step()``.

The kind of GAN (``model.family``, see ``gan_core.families``) owns the iteration: for the adversarial families
a step runs ``d_steps`` discriminator updates and one generator update (or only one of them for
``step("d")`` / ``step("g")``). It returns one float32 vector of ``trainer.metric_names``
(``metrics.STEP_METRICS``, then the family's own metrics) that stays on the device, so a caller can batch the
host copies. All randomness comes from the trainer's own generators: the same seed and config give the same
losses on the CPU. ``gan_core.run.Run`` drives this in a thread.

    python -c "from gan_core.trainer import Trainer; from gan_core.presets import preset_config as p; \
t = Trainer(p('ring8')); print([t.step()[0].item() for _ in range(3)])"
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Callable, Optional

import torch
import torch.nn as nn

from . import budget, distributed, ema
from .config import Config
from .data import load_dataset
from .families import get_family
from .losses import get_loss
from .metrics import STEP_METRICS
from .models import build_nets

# Step metrics in groups, in STEP_METRICS order: (group, length); the step concatenates them once, then a
# family's own metrics (one value each) follow.
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
        self.family = get_family(cfg.model.family)
        self.source = None  # domain A of a translating family (CycleGAN): G's inputs come from it
        if self.family.g_input == "source":
            from .data.domains import load_source
            source = load_source(cfg.data, self.data, progress)
            self.source = source.to(self.device) if hasattr(source, "to") else source
        self.num_classes = self.family.classes(cfg.model, self.data.num_classes)  # values of G's class input
        with _INIT_LOCK:
            torch.manual_seed(cfg.train.seed)
            self.nets = build_nets(cfg.model, self.data_shape, self.data.num_classes, self.is_image)
        for net in self.nets.values():
            net.to(self.device)
        self.G, self.D = self.nets["G"], self.nets["D"]
        self.metric_names = STEP_METRICS + self.family.metrics
        self.metric_groups = METRIC_GROUPS + tuple((name, 1) for name in self.family.metrics)
        self.gen = torch.Generator(self.device).manual_seed(cfg.train.seed)  # data, z, penalties
        self.eval_gen = torch.Generator(self.device).manual_seed(cfg.train.seed + 1)  # kept apart from training
        self.opt_g = make_optimizer(cfg, self.G.parameters(), cfg.train.lr_g)
        self.opt_d = make_optimizer(cfg, self.D.parameters(), cfg.train.lr_d)
        # which networks the newest iteration updated, in order: "d" per optimiser step of D's networks, "g"
        # per step of G's (the Train page's model strip narrates them); bookkeeping only, no effect on numbers
        self.last_updates: tuple = ()
        self._updates: list = []
        self.opt_d.register_step_post_hook(lambda *_: self._updates.append("d"))
        self.opt_g.register_step_post_hook(lambda *_: self._updates.append("g"))
        m = cfg.model  # one D pass over [real; fake] unless D keeps batch statistics or packs samples
        self.d_concat = not (_has_batchnorm(self.D) or m.mbstd or m.pack > 1)
        self.g_params = list(self.G.parameters())
        self.d_params = list(self.D.parameters())
        self._nan = {n: torch.full((n,), NAN, device=self.device) for n in (1, 2, 3)}
        self._zero = torch.zeros(1, device=self.device)
        self._acc_flip = torch.tensor([0.0, 1.0], device=self.device)
        self.step_count = 0
        self.dist = None  # a data-parallel run's gan_core.distributed.Context (torchrun), set by attach
        self.compiled = None  # (G, D) as compiled stand-ins for the step (Trainer.compile), or None: eager
        self.compile_note = ""  # why a compiled trainer went back to eager
        self._d_updates = 0  # counts D updates, for lazy R1
        if self.source is None:
            self.viz_z = torch.randn(512, cfg.model.z_dim, generator=self.eval_gen, device=self.device)
        else:  # G's inputs are domain-A samples: a fixed bank of them, kept in G (views and checkpoints carry it)
            bank, labels = self.source.sample(self.G.bank.shape[0], self.eval_gen, self.device)
            self.G.bank.copy_(bank)
            if labels is not None:
                self.G.bank_labels.copy_(labels)
            self.viz_z = self.G.bank
        self.fixed_z = self.viz_z[:64]  # the sample grid's inputs: the same vectors for the whole run
        self.fixed_y = (torch.arange(64, device=self.device) % self.num_classes) if self.num_classes else None
        self.apply_config(cfg)
        ctx = distributed.active()
        if ctx is not None:  # under torchrun: this process's shard, seed and DDP-wrapped networks
            ctx.attach(self)

    # ---- configuration ---------------------------------------------------------------------------------
    def apply_config(self, cfg: Config) -> None:
        """Adopt changed live hyperparameters (learning rates, loss, penalties...) from the next step on."""
        self.cfg = self.dist.local_config(cfg) if self.dist is not None else cfg
        self.loss = get_loss(cfg.loss.loss)  # families that have their own loss (BEGAN) ignore it
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
        if cfg.train.g_ema <= 0:
            self.g_ema = None
        elif getattr(self, "g_ema", None) is None:  # turned on (now, or at the start): the average starts at G
            self.g_ema = ema.averaged_copy(self.nets["G"])

    @property
    def g_eval(self):
        """The generator that samples, pictures and evaluations use: G's average when ``train.g_ema`` is on."""
        return self.g_ema if self.g_ema is not None else self.G

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
        parts: dict = {}  # metric groups as 1-D tensors, concatenated once at the end
        self._updates.clear()
        if self.dist is not None:
            self._step_distributed(which, parts)
        elif self.compiled is not None:
            self._step_compiled(which, parts)
        else:
            self.family.step(self, which, parts)
        self.last_updates = tuple(self._updates)
        if self.g_ema is not None and "g" in self.last_updates:
            ema.update(self.g_ema, self.nets["G"], self.cfg.train.g_ema)
        self.step_count += 1
        losses = torch.cat([parts[k] for k in ("d_losses", "g_loss") if k in parts])
        parts["finite"] = torch.isfinite(losses).all().float().view(1)
        values = torch.cat([parts[name] if name in parts else self._nan[n] for name, n in self.metric_groups])
        return values if self.dist is None else self.dist.mean(values)

    def compile(self) -> None:
        """Run the steps from now on with G and D compiled by torch.compile (gan_core.compiled); the first
        compiled step waits for the compiler. Not with torchrun (DDP runs eager)."""
        if self.dist is not None:
            self.compile_note = "not compiled: a data-parallel run trains eagerly"
            return
        from .compiled import CompiledNet, mode_for
        mode = mode_for(self.device)
        self.compiled = (CompiledNet(self.nets["G"], mode, "G"), CompiledNet(self.nets["D"], mode, "D"))
        self.compile_note = ""

    def _step_compiled(self, which: str, parts: dict) -> None:
        from .compiled import is_compile_failure
        if self.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()  # outputs of the previous step's graphs may be reused
        rng, d_updates = self.gen.get_state(), self._d_updates  # to redo the step from the same draws
        try:
            with self._stand_ins(self.compiled):
                self.family.step(self, which, parts)
        except Exception as exc:
            if not is_compile_failure(exc):
                raise
            self.compiled = None  # for good: redo this step eagerly
            kept = f" ({len(self._updates)} update(s) made before the failure kept)" if self._updates else ""
            self.compile_note = (f"back to eager at step {self.step_count + 1}{kept}: {type(exc).__name__}: "
                                 f"{str(exc)[:200]}")
            parts.clear()
            self._updates.clear()
            self.gen.set_state(rng)
            self._d_updates = d_updates
            self.family.step(self, which, parts)

    def _step_distributed(self, which: str, parts: dict) -> None:
        """The family's step with G and D called through DDP (gradients averaged over the processes)."""
        try:
            with self._stand_ins(self.routed):
                self.family.step(self, which, parts)
        except RuntimeError as exc:
            if not distributed.is_lost_peer(exc):
                raise
            raise self.dist.lost(exc) from exc

    @contextmanager
    def _stand_ins(self, pair: tuple):
        """``self.G``, ``self.D`` are ``pair`` (compiled or DDP stand-ins) for one family step, and the plain
        networks again afterwards, whatever happens: nothing outside the step sees a stand-in."""
        self.G, self.D = pair
        try:
            yield
        finally:
            self.G, self.D = self.nets["G"], self.nets["D"]

    # ---- sampling (no effect on the training RNG) ------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``n`` samples from the eval generator; class-taking families get uniform classes unless ``y``;
        a translating family translates ``n`` fresh samples of domain A."""
        if self.source is not None:
            return self.g_eval(self.source.sample(n, self.eval_gen, self.device)[0])
        z = torch.randn(n, self.cfg.model.z_dim, generator=self.eval_gen, device=self.device)
        if self.num_classes and y is None:
            y = torch.randint(0, self.num_classes, (n,), generator=self.eval_gen, device=self.device)
        return self.g_eval(z, y if self.num_classes else None)

    @torch.no_grad()
    def fixed_samples(self) -> torch.Tensor:
        return self.g_eval(self.fixed_z, self.fixed_y)
