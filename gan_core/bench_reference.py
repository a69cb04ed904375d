"""pytorch/examples' dcgan (main.py) re-implemented faithfully: its Generator and Discriminator, its
``weights_init`` and its training loop (DataLoader, BCELoss, per-step ``.item()`` logging). The baseline
that ``gan_core.bench`` measures the playground against.
"""
from __future__ import annotations

import math
import random
import time
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

NZ, NGF, NDF, SIZE = 100, 64, 64, 64
LR, BETA1 = 2e-4, 0.5
WARMUP = 3  # untimed iterations before each measurement (first-call allocations, cudnn autotuning)


# ---------------------------------------------------------------- pytorch/examples dcgan, as published

def weights_init(m: nn.Module) -> None:
    """pytorch/examples' custom init: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), shift 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class RefGenerator(nn.Module):
    def __init__(self, nz: int = NZ, ngf: int = NGF, nc: int = 1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),  # (B, nz, 1, 1) -> (B, ngf*8, 4, 4)
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # -> (B, ngf*4, 8, 8)
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # -> (B, ngf*2, 16, 16)
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # -> (B, ngf, 32, 32)
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # -> (B, nc, 64, 64)
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class RefDiscriminator(nn.Module):
    def __init__(self, ndf: int = NDF, nc: int = 1):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # (B, nc, 64, 64) -> (B, ndf, 32, 32)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # -> (B, ndf*2, 16, 16)
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # -> (B, ndf*4, 8, 8)
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),  # -> (B, ndf*8, 4, 4)
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # -> (B, 1, 1, 1)
            nn.Sigmoid(),
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)  # (B,) probabilities


def _discard(line: str) -> None:
    """Where the reference loop's log lines go by default (formatted, as in the example, but not shown)."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check(images: torch.Tensor, batch_size: int, iters: int) -> None:
    if images.ndim != 4 or tuple(images.shape[-2:]) != (SIZE, SIZE):
        raise ValueError(f"images must be (N, C, {SIZE}, {SIZE}), got {tuple(images.shape)}")
    if not 1 <= batch_size <= len(images):
        raise ValueError(f"batch size {batch_size} must be between 1 and the {len(images)} images available")
    if iters < 1:
        raise ValueError(f"iters = {iters} must be >= 1")


def reference_loop(images: torch.Tensor, batch_size: int, iters: int, device="cpu", seed: int = 0,
                   warmup: int = WARMUP, record: Optional[list] = None, log: Callable[[str], None] = _discard,
                   nz: int = NZ, ngf: int = NGF, ndf: int = NDF) -> float:
    """pytorch/examples dcgan/main.py's training loop on ``images`` (N, nc, 64, 64) in [-1, 1]; returns the
    images/s of ``iters`` iterations after ``warmup`` untimed ones. ``record`` (a list) receives each step's
    (errD, errG, D_x, D_G_z1, D_G_z2); ``log`` gets the example's per-step line (``print`` to see it)."""
    _check(images, batch_size, iters)
    device = torch.device(device)
    random.seed(seed)
    torch.manual_seed(seed)
    cudnn_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        nc = images.shape[1]
        dataloader = DataLoader(TensorDataset(images.cpu()), batch_size=batch_size, shuffle=True,
                                num_workers=0, drop_last=True)
        netG = RefGenerator(nz, ngf, nc).to(device)
        netG.apply(weights_init)
        netD = RefDiscriminator(ndf, nc).to(device)
        netD.apply(weights_init)
        criterion = nn.BCELoss()
        real_label, fake_label = 1.0, 0.0
        optimizerD = optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, 0.999))
        optimizerG = optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, 0.999))
        total, done, t0, epoch = warmup + iters, 0, time.perf_counter(), 0
        niter = math.ceil(total / len(dataloader))  # epochs this run spans (the example's --niter)
        while done < total:
            for i, data in enumerate(dataloader, 0):
                if done == warmup:
                    _sync(device)
                    t0 = time.perf_counter()
                # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
                netD.zero_grad()
                real_cpu = data[0].to(device)
                b_size = real_cpu.size(0)
                label = torch.full((b_size,), real_label, dtype=real_cpu.dtype, device=device)
                output = netD(real_cpu)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(b_size, nz, 1, 1, device=device)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach())
                errD_fake = criterion(output, label)
                errD_fake.backward()
                D_G_z1 = output.mean().item()
                errD = errD_real + errD_fake
                optimizerD.step()
                # (2) Update G network: maximize log(D(G(z)))
                netG.zero_grad()
                label.fill_(real_label)  # fake labels are real for generator cost
                output = netD(fake)
                errG = criterion(output, label)
                errG.backward()
                D_G_z2 = output.mean().item()
                optimizerG.step()
                stats = (errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)
                log("[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"
                    % ((epoch, niter, i, len(dataloader)) + stats))  # the example prints this every step
                if record is not None:
                    record.append(stats)
                done += 1
                if done == total:
                    break
            epoch += 1
        _sync(device)
        seconds = time.perf_counter() - t0
    finally:
        torch.backends.cudnn.benchmark = cudnn_before
    return batch_size * iters / seconds
