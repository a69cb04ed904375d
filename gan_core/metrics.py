"""Training and sample-quality metrics that need no trained classifier.

``mode_coverage`` implements the VEEGAN/PacGAN protocol for 2D mixtures (DESIGN.md): a sample is
high-quality if it lies within 3 std of its nearest mode; a mode is captured if it is the nearest mode of
at least one high-quality sample; ``modes_covered`` says which.
"""
from __future__ import annotations

import torch
from torch import Tensor

# Per-iteration metrics produced by Trainer.step(), in this order (one float32 vector per step).
STEP_METRICS = (
    "d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_acc_real", "d_acc_fake",
    "d_real_mean", "d_fake_mean", "g_grad_norm", "d_grad_norm", "penalty",
    "finite",  # 1 when every loss this step computed was finite; 0 marks divergence (NaN means "not computed")
)


def modes_covered(samples: Tensor, means: Tensor, std: float, n_sigma: float = 3.0) -> tuple[Tensor, Tensor]:
    """Which modes are captured: (sorted indices into ``means`` (K, 2) of the captured modes, boolean mask
    (N,) of the high-quality samples) for samples (N, 2)."""
    dist = torch.cdist(samples.float(), means.to(samples.device).float())  # (N, K)
    nearest_d, nearest = dist.min(1)
    hq = nearest_d <= n_sigma * std
    return torch.unique(nearest[hq]), hq


def mode_coverage(samples: Tensor, means: Tensor, std: float, n_sigma: float = 3.0) -> tuple[int, float]:
    """(modes captured, fraction of high-quality samples) for samples (N, 2) against means (K, 2)."""
    captured, hq = modes_covered(samples, means, std, n_sigma)
    return int(captured.numel()), float(hq.float().mean())


def grad_norm(params) -> Tensor:
    """Global L2 norm of the gradients of ``params`` (0 when none has a gradient)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
