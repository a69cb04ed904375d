"""Memory and time budget of a run, checked before any data is loaded or any weight is allocated.

Every config field is valid on its own, yet some combinations cannot run: ``digits`` at 64 px with a DCGAN of
ngf = ndf = 512 and batch 8192 needs tens of GB before its first step; 8 x 4096 MLPs at batch 8192 need
minutes per step. ``check`` refuses such a run with one line saying what to shrink::

    from gan_core import budget
    cfg = preset_config("mnist")
    budget.check(cfg, budget.data_shape_for(cfg), "cpu")      # the Estimate, or ValueError naming the fields
    est = budget.estimate(cfg, budget.data_shape_for(cfg))    # Estimate(parameters=..., step_bytes=...)

How the numbers are made (rough by design, meant to be within a small factor of the real peak):
- parameters: G and D are built on torch's "meta" device (no memory, no weight init), so the count is exact;
- optimiser state: Adam 2 tensors per parameter, RMSprop 1, SGD 1 with momentum (0 without); gradients 1;
- activations: the layer output shapes, propagated through the models' layers analytically (a forward pass on
  meta tensors would import torch's compiler stack, ~2 s per process). What autograd keeps per layer is counted
  (the input of every Linear/Conv/BatchNorm, the output of every activation), for the peak of one Trainer
  step: G's graph at batch B (kept for the G update) + D's graph on [real; fake] (2B) + the backward pass's
  transient gradients; gradient penalties (WGAN-GP, DRAGAN, R1) add a double-backward graph of D at B;
- data: the dataset tensor the loader will hold (sizes of the known sets; folders: ``data.max_images`` if set,
  else not counted because the count is unknown before reading);
- time: forward FLOPs of each layer (2 x multiply-adds), x3 for forward + backward, over the D and G updates,
  divided by a conservative throughput (``CPU_FLOPS``, ``CUDA_FLOPS``, below).
Models other than the MLP and DCGAN classes fall back to a forward pass on meta tensors for their shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional, Union

import torch
import torch.nn as nn

from .config import Config

# Conservative sustained float32 throughput of one training step (FLOP/s). Measured on a 2-core cloud CPU with
# the Trainer's thread settings: MLPs and small DCGANs reached 14-36 GFLOP/s (tiny toy MLPs ~4, but their steps
# take milliseconds), so 10 GFLOP/s over-estimates step times ~1.5-4x; CUDA: 5 TFLOP/s is well under what any
# recent GPU sustains for these layers.
CPU_FLOPS = 10e9
CUDA_FLOPS = 5e12
MAX_STEP_SECONDS = 20.0  # refuse a run whose one step is estimated to take longer than this
MEMORY_HEADROOM = 0.85  # use at most this share of the free memory (the app, the browser and the OS need some)
FLOAT_BYTES = 4
FOLDER_SIZE, FOLDER_CHANNELS = 32, 3  # as gan_core.data.images: folder defaults for image_size/channels = 0
NATIVE = {"digits": (8, 1, 1797), "digits_inverted": (8, 1, 1797), "mnist": (28, 1, 70_000), "fashion_mnist": (28, 1, 70_000),
          "stacked_mnist": (28, 3, 70_000)}  # native side, channels, images (train + test, an upper bound)
CLASSES = {"digits": 10, "digits_inverted": 10, "mnist": 10, "fashion_mnist": 10, "stacked_mnist": 1000}
FOLDER_CLASSES = 10  # a labelled folder's class count is unknown before reading; its embeddings are tiny anyway
_OPT_STATES = {"adam": 2, "rmsprop": 1}  # optimiser tensors per parameter tensor (SGD: 1 with momentum)


@dataclass(frozen=True)
class Estimate:
    parameters: int  # of G and D together: exactly sum(p.numel())
    param_bytes: int  # G and D's weights and buffers, and G's average when train.g_ema is on
    grad_bytes: int
    optimizer_bytes: int
    activation_bytes: int  # autograd's saved tensors and transient gradients at the peak of one step
    data_bytes: int  # the dataset tensor held in memory (0 when unknown before loading)
    flops: float  # per training step (all D updates + the G update, forward and backward)
    batch_size: int

    @property
    def step_bytes(self) -> int:
        """Memory one training step needs beyond the dataset: weights, gradients, optimiser, activations."""
        return self.param_bytes + self.grad_bytes + self.optimizer_bytes + self.activation_bytes

    @property
    def total_bytes(self) -> int:
        return self.step_bytes + self.data_bytes

    @property
    def seconds_per_step(self) -> float:
        """On the CPU, at ``CPU_FLOPS`` (see ``seconds_on`` for other devices)."""
        return self.flops / CPU_FLOPS

    def seconds_on(self, device) -> float:
        return self.flops / (CUDA_FLOPS if torch.device(device).type == "cuda" else CPU_FLOPS)


# ---------------------------------------------------------------- what the data will look like

def data_shape_for(cfg: Config) -> tuple:
    """The per-sample shape ``cfg`` will produce, WITHOUT loading anything: toy (1,) or (2,); images
    (C, H, W) from data.image_size / data.channels, 0 meaning the set's native value (digits 8x8x1, MNIST and
    Fashion-MNIST 28x28x1, Stacked MNIST 28x28x3, folders 32x32x3 as in gan_core.data.images)."""
    d = cfg.data
    if d.is_toy:
        from .data.toy import load_toy  # toy sets are made on the fly: building one costs nothing
        return (load_toy(d.dataset, d.points, d.point_std).dim,)
    if d.dataset == "folder":
        size, channels = d.image_size or FOLDER_SIZE, d.channels or FOLDER_CHANNELS
    else:
        side, native_c, _ = NATIVE[d.dataset]
        size, channels = d.image_size or side, d.channels or native_c
        if d.dataset == "stacked_mnist":
            channels = 3  # one digit per channel, whatever data.channels says (the loader refuses other values)
    return (channels, size, size)


def num_classes_for(cfg: Config) -> int:
    """Classes the data will have (0 for toy data); folders: ``FOLDER_CLASSES``, a stand-in."""
    d = cfg.data
    if d.is_toy:
        return 0
    return CLASSES.get(d.dataset, FOLDER_CLASSES)


def _data_bytes(cfg: Config, data_shape: tuple) -> int:
    d = cfg.data
    if d.is_toy:
        return 0
    count = NATIVE[d.dataset][2] if d.dataset in NATIVE else 0
    if d.max_images:
        count = min(count, d.max_images) if count else d.max_images
    per = math.prod(data_shape)
    if d.dataset == "stacked_mnist":
        per //= 3  # only the 1-channel digits are kept; stacks are made per batch
    return count * per * FLOAT_BYTES


# ---------------------------------------------------------------- models on the meta device

class _NoInit(torch.overrides.TorchFunctionMode):
    """Skip weight initialisation (meta tensors have no values; initialising them would import torch's
    reference implementations, ~2 s)."""
    _SKIP = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _NoInit._SKIP is None:
            import torch.nn.init as init
            _NoInit._SKIP = {torch.Tensor.normal_, torch.Tensor.uniform_} | {
                getattr(init, n) for n in dir(init) if n.endswith("_") and not n.startswith("_")}
        if func in _NoInit._SKIP:
            return args[0] if args else kwargs.get("tensor")
        return func(*args, **kwargs)


def meta_models(cfg: Config, data_shape: tuple, num_classes: Optional[int] = None):
    """(G, D) as the Trainer builds them, on the meta device: shapes and parameter counts, no memory.
    Spectral norm is built as "none": it keeps the same parameters (its power-iteration vectors are buffers)."""
    from .models import build_models
    m = cfg.model
    if m.d_norm == "spectral":
        m = replace(m, d_norm="none")
    classes = num_classes_for(cfg) if num_classes is None else num_classes
    with _NoInit(), torch.device("meta"):
        return build_models(m, tuple(data_shape), classes, not cfg.data.is_toy)


@dataclass
class _Cost:
    """Per-sample float counts of one forward pass."""
    saved: int = 0  # tensors autograd keeps for the backward pass
    largest: int = 0  # the largest single layer output
    flops: float = 0.0


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _layers(module: nn.Module, shape: tuple, cost: _Cost) -> tuple:
    """Propagate the per-sample ``shape`` through ``module`` (a layer or a Sequential), adding its cost."""
    if isinstance(module, nn.Sequential):
        for child in module:
            shape = _layers(child, shape, cost)
        return shape
    n_in = math.prod(shape)
    if isinstance(module, nn.Linear):
        out = (module.out_features,)
        cost.flops += 2 * module.in_features * module.out_features
        cost.saved += n_in
    elif isinstance(module, nn.Conv2d):
        c, h, w = shape
        (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
        if isinstance(module.padding, str):  # "same" / "valid"
            pad = (dh * (kh - 1) // 2, dw * (kw - 1) // 2) if module.padding == "same" else (0, 0)
        else:
            pad = module.padding
        out = (module.out_channels, _conv_out(h, kh, sh, pad[0], dh), _conv_out(w, kw, sw, pad[1], dw))
        cost.flops += 2 * math.prod(out) * (c // module.groups) * kh * kw
        cost.saved += n_in
    elif isinstance(module, nn.ConvTranspose2d):
        c, h, w = shape
        (kh, kw), (sh, sw), (ph, pw) = module.kernel_size, module.stride, module.padding
        (dh, dw), (oh, ow) = module.dilation, module.output_padding
        out = (module.out_channels, (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1,
               (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1)
        cost.flops += 2 * h * w * c * (module.out_channels // module.groups) * kh * kw
        cost.saved += n_in
    elif isinstance(module, nn.Upsample):
        f = module.scale_factor
        fh, fw = (f, f) if not isinstance(f, tuple) else f
        out = (shape[0], int(shape[1] * fh), int(shape[2] * fw))
    elif isinstance(module, nn.Flatten):
        out = (n_in,)
    else:  # BatchNorm, activations, Identity, Dropout: same shape; norms keep their input, activations output
        out = shape
        cost.flops += 4 * n_in
        if not isinstance(module, (nn.Identity, nn.Dropout)):
            cost.saved += n_in
    cost.largest = max(cost.largest, math.prod(out))
    return out


def _model_cost(model: nn.Module, data_shape: tuple) -> _Cost:
    from .models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
    cost = _Cost()
    embed = getattr(model, "embed", None)
    if isinstance(model, (MLPGenerator, DCGANGenerator)):
        width = model.z_dim + (embed.embedding_dim if embed is not None else 0)
        _layers(model.net, (width,) if isinstance(model, MLPGenerator) else (width, 1, 1), cost)
    elif isinstance(model, (MLPDiscriminator, DCGANDiscriminator)):
        shape = (math.prod(data_shape),) if isinstance(model, MLPDiscriminator) else tuple(data_shape)
        shape = _layers(model.trunk, shape, cost)
        _layers(model.head, shape, cost)
        if embed is not None:  # projection term: embed(y) * features, summed
            cost.saved += 2 * embed.embedding_dim
            cost.flops += 2 * embed.embedding_dim
    else:
        return _meta_forward_cost(model, data_shape)
    return cost


def _meta_forward_cost(model: nn.Module, data_shape: tuple) -> _Cost:
    """Fallback for other models: a forward pass of one sample on meta tensors, counting saved tensors."""
    cost = _Cost()

    def pack(t):
        cost.saved += t.numel()
        cost.largest = max(cost.largest, t.numel())
        return t

    z_dim = getattr(model, "z_dim", None)
    x = torch.empty((1, z_dim) if z_dim else (1, *data_shape), device="meta")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    cost.flops = 2.0 * sum(p.numel() for p in model.parameters())  # a lower bound for convnets
    return cost


def _optimizer_bytes(cfg: Config, param_bytes: int) -> int:
    t = cfg.train
    states = _OPT_STATES.get(t.optimizer, 1 if t.beta1 > 0 else 0)
    return states * param_bytes


def estimate(cfg: Config, data_shape: tuple, num_classes: Optional[int] = None) -> Estimate:
    """Memory and FLOPs of one training step of ``cfg`` on data of per-sample ``data_shape``."""
    from .losses import get_loss
    G, D = meta_models(cfg, data_shape, num_classes)
    g_params, g_buffers = sum(p.numel() for p in G.parameters()), sum(b.numel() for b in G.buffers())
    params = g_params + sum(p.numel() for p in D.parameters())
    buffers = g_buffers + sum(b.numel() for b in D.buffers())
    g, d = _model_cost(G, data_shape), _model_cost(D, data_shape)
    t, lc = cfg.train, cfg.loss
    B, sample = t.batch_size, math.prod(data_shape)
    penalty = get_loss(lc.loss).penalty is not None or lc.r1_gamma > 0
    # the peak of a step: G's graph (B, kept for the G update) + D's graph on [real; fake] (2B) + the backward
    # pass's gradients (about two of the largest layer outputs at 2B) + the batches themselves
    floats = (B * g.saved + 2 * B * d.saved + 2 * 2 * B * max(g.largest, d.largest)
              + 5 * B * sample + B * cfg.model.z_dim)
    if penalty:
        floats += 2 * B * d.saved  # double backward: D's graph and the graph of its input gradient
    param_bytes = (params + buffers) * FLOAT_BYTES
    if t.g_ema > 0:  # G's running average: one more copy of G's weights and buffers (train.g_ema)
        param_bytes += (g_params + g_buffers) * FLOAT_BYTES
    flops = t.d_steps * (B * g.flops + 3 * 2 * B * d.flops) + 3 * B * d.flops + 2 * B * g.flops
    if penalty:
        flops += t.d_steps * 4 * B * d.flops
    from .families import get_family
    extra = get_family(cfg.model.family).extra_d_passes
    if extra is not None:
        flops += extra(cfg) * B * d.flops
    return Estimate(parameters=params, param_bytes=param_bytes, grad_bytes=params * FLOAT_BYTES,
                    optimizer_bytes=_optimizer_bytes(cfg, params * FLOAT_BYTES),
                    activation_bytes=int(floats) * FLOAT_BYTES, data_bytes=_data_bytes(cfg, data_shape),
                    flops=float(flops), batch_size=B)


# ---------------------------------------------------------------- what the device has

def free_bytes(device) -> Optional[int]:
    """Memory free for a new run on ``device``: CUDA's mem_get_info, else MemAvailable from /proc/meminfo
    (Linux); None when it cannot be known (then no memory check is made)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(dev)[0])
        except (RuntimeError, AssertionError, ValueError):
            return None
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _shrink_fields(cfg: Config) -> str:
    return "model.ngf/ndf" if cfg.model.arch == "dcgan" else "model.g_hidden/d_hidden or model.depth"


def _try_batch(batch: int, fits) -> Optional[int]:
    """The largest power of two below ``batch`` for which ``fits(b)`` holds, if any."""
    b = 1 << max(0, (batch - 1).bit_length() - 1)
    while b >= 1:
        if b < batch and fits(b):
            return b
        b //= 2
    return None


def _resolve(device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check(cfg: Config, data_shape: tuple, device: Union[str, torch.device], num_classes: Optional[int] = None,
          *, data_loaded: bool = False, models_built: bool = False, free: Optional[int] = None,
          max_seconds: float = MAX_STEP_SECONDS) -> Estimate:
    """Refuse (ValueError, one line) a run that does not fit ``device``'s free memory or whose one step would
    take longer than ``max_seconds``; returns the Estimate when it fits. ``data_loaded``: the dataset is
    already in memory; ``models_built``: so are the weights, gradients and optimiser state (a live change of
    train.batch_size): what already exists is not counted again. ``free`` overrides the measured free bytes."""
    dev = _resolve(device)
    est = estimate(cfg, data_shape, num_classes)
    B = cfg.train.batch_size
    free = free_bytes(dev) if free is None else free
    data = 0 if data_loaded else est.data_bytes
    fields = _shrink_fields(cfg)
    if free is not None:
        allowed = free * MEMORY_HEADROOM
        fixed = (0 if models_built else est.param_bytes + est.grad_bytes + est.optimizer_bytes) + data
        per_sample = est.activation_bytes / B
        need = fixed + est.activation_bytes
        if need > allowed:
            what = "one training step" + (" and its data" if data >= need / 4 else "")
            b = _try_batch(B, lambda b: fixed + per_sample * b <= allowed)
            if b:
                fix = f"lower train.batch_size (try {b}) or {fields}"
            else:
                big_data = data >= need / 4
                fix = (f"the weights, gradients and optimiser state alone need "
                       f"{_gb(est.param_bytes + est.grad_bytes + est.optimizer_bytes)}"
                       + (f" and the data {_gb(data)}" if big_data else "")
                       + f": lower {fields} (and train.batch_size" + (", data.max_images)" if big_data else ")"))
            raise ValueError(f"this run needs about {_gb(need)} for {what} but {_gb(free)} are free on {dev.type}"
                             f"; {fix}")
    seconds = est.seconds_on(dev)
    if seconds > max_seconds:
        b = _try_batch(B, lambda b: seconds * b / B <= max_seconds)
        fix = f"lower train.batch_size (try {b}) or {fields}" if b else f"lower {fields} (and train.batch_size)"
        raise ValueError(f"one training step of this run would take about {seconds:,.0f} s on {dev.type} "
                         f"(limit {max_seconds:g} s); {fix}")
    return est


def describe(est: Estimate) -> str:
    """One line for logs and the UI."""
    return (f"{est.parameters:,} parameters, about {_gb(est.step_bytes)} per step "
            f"(+{_gb(est.data_bytes)} data), ~{est.seconds_per_step:.2g} s/step on CPU")


__all__ = ["Estimate", "estimate", "check", "data_shape_for", "num_classes_for", "free_bytes", "describe",
           "CPU_FLOPS", "CUDA_FLOPS", "MAX_STEP_SECONDS"]
