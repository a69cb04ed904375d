"""Tests for gan_core.models: every architecture/upsampling/size/channels/conditional combination builds
through ``build_models`` and produces the documented shapes and ranges; tiny widths, CPU only."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn as nn

from gan_core.config import ACTIVATIONS, ModelConfig
from gan_core.models import build_models
from gan_core.models.mlp import MLPDiscriminator, MLPGenerator, activation

B, Z, K = 4, 8, 3  # batch, latent size, classes


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py

COMBOS = [
    (arch, up, size, c, cond)
    for arch, up, c, cond in itertools.product(("mlp", "dcgan"), ("transposed", "resize"), (1, 3), (False, True))
    for size in ((8, 28) if arch == "mlp" else (28, 32, 64))
]


def _cfg(conditional: bool = False, **kw) -> ModelConfig:
    base = dict(z_dim=Z, g_hidden=16, d_hidden=16, depth=2, ngf=8, ndf=8, embed_dim=4)
    return ModelConfig(**{**base, "family": "cgan" if conditional else "gan", **kw})


@pytest.mark.parametrize("arch,upsample,size,channels,conditional", COMBOS,
                         ids=[f"{a}-{u}-{s}px-c{c}-{'cond' if k else 'uncond'}" for a, u, s, c, k in COMBOS])
def test_image_models_shapes_and_range(arch, upsample, size, channels, conditional):
    torch.manual_seed(0)
    m = _cfg(arch=arch, upsample=upsample, conditional=conditional)
    G, D = build_models(m, (channels, size, size), num_classes=K, image=True)
    z = torch.randn(B, Z)
    y = torch.arange(B) % K if conditional else None
    with torch.no_grad():
        x = G(z, y)
        assert x.shape == (B, channels, size, size)
        assert x.dtype == torch.float32
        assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
        # large latents push the tanh output against its bounds without crossing them
        big = G(50 * torch.randn(B, Z), y)
        assert big.min() >= -1 and big.max() <= 1
        scores = D(x, y)
        assert scores.shape == (B,) and torch.isfinite(scores).all()
        # D's scores depend on its input
        assert not torch.allclose(D(torch.rand_like(x) * 2 - 1, y), scores)
        if conditional:
            assert G.embed is not None and D.embed is not None
            y2 = (y + 1) % K
            assert not torch.allclose(G(z, y2), x), "G ignores the label"
            assert not torch.allclose(D(x, y2), scores), "D ignores the label"
        else:
            assert G.embed is None and D.embed is None
    if size == min(s for a, _, s, *_ in COMBOS if a == arch) and channels == 3:
        # (backward is the slow part: check it on the smallest size of each kind only)
        # gradients reach every parameter of G, the label embedding included, through D
        D(G(z, y), y).sum().backward()
        missing = [n for n, p in G.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
        assert not missing


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_dcgan_upsampling_layers_differ(upsample):
    G, _ = build_models(_cfg(arch="dcgan", upsample=upsample), (1, 32, 32), image=True)
    kinds = {type(mod) for mod in G.modules()}
    if upsample == "resize":
        assert nn.Upsample in kinds
    else:
        assert nn.Upsample not in kinds
        # the first projection plus one transposed conv per doubling (4 -> 8 -> 16 -> 32)
        assert sum(isinstance(mod, nn.ConvTranspose2d) for mod in G.modules()) == 4


@pytest.mark.parametrize("dim", [1, 2])
def test_mlp_toy_shapes(dim):
    torch.manual_seed(0)
    G, D = build_models(_cfg(arch="mlp", z_dim=2), (dim,), image=False)
    x = G(torch.randn(B, 2))
    assert x.shape == (B, dim)
    # toy generators have no output squashing: they can reach the data at |x| = 4 (gauss1d)
    assert not any(isinstance(mod, nn.Tanh) for mod in G.net[-1:])
    assert D(x).shape == (B,)
    assert D(torch.randn(B, dim)).shape == (B,)


def test_mlp_depth_and_width():
    G, D = build_models(_cfg(arch="mlp", depth=3, g_hidden=12, d_hidden=20), (2,))
    g_lin = [mod for mod in G.modules() if isinstance(mod, nn.Linear)]
    d_lin = [mod for mod in D.modules() if isinstance(mod, nn.Linear)]
    assert len(g_lin) == 4 and len(d_lin) == 4
    assert [mod.out_features for mod in g_lin] == [12, 12, 12, 2]
    assert [mod.out_features for mod in d_lin] == [20, 20, 20, 1]
    assert g_lin[0].in_features == Z and d_lin[0].in_features == 2


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation_builds(act):
    G, D = build_models(_cfg(arch="mlp", activation=act), (2,))
    assert G(torch.randn(B, Z)).shape == (B, 2)
    assert D(torch.randn(B, 2)).shape == (B,)


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("mlp", (1, 8, 8)), ("dcgan", (1, 28, 28))])
def test_d_norm_spectral(arch, shape):
    torch.manual_seed(0)
    G, D = build_models(_cfg(arch=arch, d_norm="spectral"), shape, image=len(shape) == 3)
    layers = [mod for mod in D.modules() if isinstance(mod, (nn.Linear, nn.Conv2d))]
    assert layers and all(nn.utils.parametrize.is_parametrized(mod, "weight") for mod in layers)
    x = torch.randn(B, *shape)
    for _ in range(30):  # power iteration converges during training-mode forwards
        D(x)
    for mod in layers:
        w = mod.weight.detach().flatten(1)
        sigma = torch.linalg.matrix_norm(w, ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)
    assert D(x).shape == (B,)
    assert not any(isinstance(mod, nn.modules.batchnorm._BatchNorm) for mod in D.modules())


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("mlp", (1, 8, 8)), ("dcgan", (3, 32, 32))])
def test_batch_norm(arch, shape):
    torch.manual_seed(0)
    G, D = build_models(_cfg(arch=arch, d_norm="batch", g_norm="batch"), shape, image=len(shape) == 3)
    assert any(isinstance(mod, nn.modules.batchnorm._BatchNorm) for mod in D.modules())
    assert any(isinstance(mod, nn.modules.batchnorm._BatchNorm) for mod in G.modules())
    z = torch.randn(B, Z)
    x = G(z)
    assert x.shape == (B, *shape) and D(x).shape == (B,)
    # train mode uses batch statistics: a sample's score depends on the rest of the batch
    a = D(x)
    b = D(torch.cat([x[:1], torch.randn(B - 1, *shape) * 3]))
    assert not torch.allclose(a[:1], b[:1])
    G.eval()
    D.eval()
    with torch.no_grad():
        assert G(z[:1]).shape == (1, *shape)  # eval mode works on a single sample
        assert D(x[:1]).shape == (1,)


def test_unknown_activation_rejected():
    with pytest.raises(ValueError, match="nope"):
        activation("nope")
    with pytest.raises(ValueError) as info:
        MLPGenerator(2, (2,), act="nope")
    assert "relu" in str(info.value)
    with pytest.raises(ValueError):
        MLPDiscriminator((2,), act="nope")
    with pytest.raises(ValueError, match="model.activation"):
        ModelConfig(activation="nope")


def test_conditional_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_models(_cfg(conditional=True), (1, 8, 8), num_classes=0, image=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_models(_cfg(conditional=True, arch="dcgan"), (1, 28, 28), num_classes=1, image=True)


def test_num_classes_ignored_when_not_conditional():
    G, D = build_models(_cfg(), (1, 8, 8), num_classes=10, image=True)
    assert G.embed is None and D.embed is None


@pytest.mark.parametrize("shape", [(1, 28, 32), (28, 28), (1, 16, 16)])
def test_dcgan_rejects_unsupported_shapes(shape):
    with pytest.raises(ValueError):
        build_models(_cfg(arch="dcgan"), shape, image=True)


def test_seeded_init_is_reproducible():
    torch.manual_seed(5)
    g1, d1 = build_models(_cfg(arch="dcgan"), (1, 28, 28), image=True)
    torch.manual_seed(5)
    g2, d2 = build_models(_cfg(arch="dcgan"), (1, 28, 28), image=True)
    for a, b in zip(list(g1.parameters()) + list(d1.parameters()), list(g2.parameters()) + list(d2.parameters())):
        assert torch.equal(a, b)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G, D = build_models(_cfg(arch="dcgan", ngf=32, ndf=32, g_norm="batch"), (1, 64, 64), image=True)
    convs = [mod for mod in G.modules() if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([mod.weight.detach().flatten() for mod in convs])
    assert float(w.mean()) == pytest.approx(0.0, abs=2e-3)
    assert float(w.std()) == pytest.approx(0.02, rel=0.05)  # N(0, 0.02) as in the DCGAN paper
    bns = [mod for mod in G.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert bns and float(torch.cat([b.weight.detach() for b in bns]).mean()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_mixed_and_kernel3_upsampling(size):
    """mixed: resize first, transposed (kernel 4) in the last two doublings; transposed3: kernel 3 stride 2."""
    G, _ = build_models(_cfg(arch="dcgan", upsample="mixed"), (1, size, size), image=True)
    ups = [m for m in G.net if isinstance(m, (nn.ConvTranspose2d, nn.Sequential))][1:]  # after the projection
    kinds = ["resize" if isinstance(m, nn.Sequential) else "transposed" for m in ups]
    assert kinds[-2:] == ["transposed", "transposed"] and set(kinds[:-2]) <= {"resize"}
    assert G(torch.randn(2, Z)).shape == (2, 1, size, size)
    G3, _ = build_models(_cfg(arch="dcgan", upsample="transposed3"), (1, size, size), image=True)
    k3 = [m for m in G3.modules() if isinstance(m, nn.ConvTranspose2d)][1:]
    assert k3 and all(m.kernel_size == (3, 3) and m.stride == (2, 2) for m in k3)
    assert G3(torch.randn(2, Z)).shape == (2, 1, size, size)
