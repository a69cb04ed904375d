"""Named starting points: a description and the settings that differ from the Config defaults.

``python -m gan_core presets`` lists them; ``preset_config(name, **overrides)`` builds a validated Config.
"""
from __future__ import annotations

from .config import Config
from .data.drawn import starter_points

_TOY_MLP = dict(arch="mlp", z_dim=2, g_hidden=64, d_hidden=64, depth=2, batch_size=256)
_DCGAN28 = dict(arch="dcgan", z_dim=64, ngf=32, ndf=32, g_norm="batch", d_norm="batch", batch_size=64,
                lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, loss="non_saturating")

PRESETS: dict[str, tuple[str, dict]] = {
    "gauss1d": ("1D Gaussian (mean 4, std 0.5): the smallest GAN there is.",
                dict(dataset="gauss1d", arch="mlp", z_dim=1, g_hidden=32, d_hidden=32, depth=2, batch_size=256,
                     lr_g=1e-3, lr_d=1e-3)),
    "line": ("2D points on a line segment.", dict(dataset="line", **_TOY_MLP)),
    "quadratic": ("2D points on a parabola.", dict(dataset="quadratic", **_TOY_MLP)),
    "ring8": ("Ring of 8 Gaussians (VEEGAN protocol): tanh MLPs, lr 2e-3 decaying 20x over 3k steps; "
              "all 8 modes in about 10 s on a laptop CPU.",
              dict(dataset="ring8", **_TOY_MLP, activation="tanh", lr_g=2e-3, lr_d=2e-3, lr_decay_steps=3000,
                   lr_final_factor=0.05, metrics_every=100)),
    "ring8_collapse": ("Ring of 8 with the original minimax loss and G learning 3x faster than D (lr 3e-4 vs 1e-4): "
                       "as in Metz et al. 2017 (Fig. 1) the generator's points bunch on one to three modes and hop "
                       "to others every few hundred steps instead of spreading over all 8; modes covered mostly "
                       "reads 0-3 (0 while the bunch is between modes) over 6,000 steps.",
                       dict(dataset="ring8", **{**_TOY_MLP, "batch_size": 64}, activation="relu", loss="minimax",
                            lr_g=3e-4, lr_d=1e-4, beta1=0.5, metrics_every=100)),
    "ring8_dwins": ("Ring of 8, minimax loss, D 4x wider (256 units) and 50x faster (lr 5e-3 vs 1e-4) than G: within "
                    "~300 steps D is right on ~100% of real and fake samples, its loss falls to ~0 and G's gradient "
                    "norm collapses ~100x (log(1 - D(G(z))) saturates). Switch the loss to non-saturating and G's "
                    "gradient comes back.",
                    dict(dataset="ring8", **{**_TOY_MLP, "d_hidden": 256, "batch_size": 64}, activation="relu",
                         loss="minimax", lr_g=1e-4, lr_d=5e-3, metrics_every=100)),
    "ring8_sgd": ("Ring of 8 with plain SGD (momentum 0.5, lr 0.02) and leaky-ReLU MLPs: trains, slowly. SGD has no "
                  "per-weight step control: raise both learning rates to 1.0 while it runs and the losses explode to "
                  "NaN/Inf within a few steps; the run pauses and offers Roll back (then set them back to 0.02).",
                  dict(dataset="ring8", **_TOY_MLP, activation="leaky_relu", optimizer="sgd", beta1=0.5,
                       lr_g=0.02, lr_d=0.02, metrics_every=100)),
    "grid25": ("Grid of 25 Gaussians (PacGAN protocol): 3x128 ReLU MLPs + R1; ~24-25 of 25 modes in 5k steps.",
               dict(dataset="grid25", **{**_TOY_MLP, "g_hidden": 128, "d_hidden": 128, "depth": 3},
                    activation="relu", lr_g=1e-3, lr_d=1e-3, r1_gamma=0.01, metrics_every=200)),
    "spiral": ("2D spiral: one long thin manifold.",
               dict(dataset="spiral", **{**_TOY_MLP, "g_hidden": 128, "d_hidden": 128}, lr_g=1e-3, lr_d=1e-3)),
    "drawn": ("Your own 2D data, drawn in Setup → Data (here a smiley): 3x128 leaky-ReLU MLPs, lr decaying 10x "
              "over 4k steps; about 90% of the samples on the drawing by step 4,000.",
              dict(dataset="drawn", points=starter_points("smiley"), **{**_TOY_MLP, "g_hidden": 128,
                   "d_hidden": 128, "depth": 3}, activation="leaky_relu", lr_g=1e-3, lr_d=1e-3,
                   lr_decay_steps=4000, lr_final_factor=0.1)),
    "digits": ("scikit-learn's bundled 8x8 digits with MLPs: recognisable digits in about a minute on a laptop.",
               dict(dataset="digits", arch="mlp", z_dim=32, g_hidden=256, d_hidden=256, depth=2,
                    activation="leaky_relu", batch_size=64, lr_g=5e-4, lr_d=5e-4, beta1=0.5)),
    "mnist": ("MNIST 28x28 with a compact DCGAN (downloads MNIST once, or reads it from the data dir).",
              dict(dataset="mnist", **_DCGAN28)),
    "fashion_mnist": ("Fashion-MNIST 28x28 with a compact DCGAN.", dict(dataset="fashion_mnist", **_DCGAN28)),
    "stacked_mnist": ("Stacked MNIST: three digits as RGB channels, 1,000 modes (the PacGAN/VEEGAN benchmark).",
                      dict(dataset="stacked_mnist", **_DCGAN28)),
}

_DIGITS = PRESETS["digits"][1]
_RING8_COLLAPSE = PRESETS["ring8_collapse"][1]
PRESETS.update({
    "digits_cgan": ("Conditional GAN on the 8x8 digits: G and D see the label; ask for a 7 and get a 7 (Mirza & "
                    "Osindero 2014).", dict(_DIGITS, family="cgan")),
    "digits_acgan": ("AC-GAN on the 8x8 digits: D names the digit of every image as well as judging it; watch the "
                     "class head's accuracy on real and fake images (Odena et al. 2017).",
                     dict(_DIGITS, family="acgan")),
    "mnist_acgan": ("AC-GAN on MNIST 28x28 with the compact DCGAN; D's class head learns from real images only "
                    "(with fakes too, as in Odena et al., G and the head agreed on classes of their own: the "
                    "classifier matched the asked class at chance, 0.10). Samples come from G's running average "
                    "(g_ema 0.999): the training G's class-consistency swings from minute to minute, its average's "
                    "does not.",
                    dict(dataset="mnist", **_DCGAN28, family="acgan", aux_fake_weight=0.0, g_ema=0.999)),
    "digits_infogan": ("InfoGAN on the 8x8 digits: 10 categorical values and 2 continuous codes that nobody labels; "
                       "the categorical code finds digit classes by itself (Chen et al. 2016). Latent lab → Codes.",
                       dict(_DIGITS, family="infogan", z_dim=18)),
    "mnist_infogan": ("InfoGAN on MNIST 28x28 (compact DCGAN, 62 noise + 2 continuous codes + a 10-way code): the "
                      "paper's experiment. Latent lab → Codes shows rows = code value, columns = a continuous code.",
                      dict(dataset="mnist", **_DCGAN28, family="infogan")),
    "digits_began": ("BEGAN on the 8x8 digits: an autoencoder D, the balance k_t and the convergence measure "
                     "M_global as live curves (Berthelot et al. 2017).",
                     dict(_DIGITS, family="began", z_dim=8, activation="elu", lr_g=1e-4, lr_d=1e-4,
                          began_gamma=0.9, began_lambda_k=0.01)),
    "ring8_unrolled": ("ring8_collapse's settings (minimax loss, G 3x faster than D) with D unrolled 5 steps for G's "
                       "update (Metz et al. 2017): the points spread over the modes instead of hopping between two or "
                       "three. Run it beside ring8_collapse.",
                       dict(_RING8_COLLAPSE, family="unrolled", unroll_steps=5)),
    "grid25_pacgan": ("Grid of 25 without R1, with PacGAN4: D judges packs of 4 samples (Lin et al. 2018, published "
                      "24.8/25 modes after long training). Measured here: 22-23 modes at 8,000 steps where the plain "
                      "D covers 12-19, few of them sharp yet; 25/25 with 40% high quality by step 30,000.",
                      dict(PRESETS["grid25"][1], pack=4, r1_gamma=0.0)),
    "cycle_toy": ("CycleGAN on points: G_AB bends the points of a line onto a parabola without being shown pairs, "
                  "G_BA bends them back; the arrows show where each point of the line goes (on the parabola within "
                  "about 1,000 steps). Zhu et al. 2017.",
                  dict(_TOY_MLP, family="cyclegan", source="line", dataset="quadratic", cycle_weight=5.0)),
    "cycle_ink": ("CycleGAN on the 8x8 digits, offline: white ink on black (A) to dark ink on white (B) and back; "
                  "the strip shows A, A → B and A → B → A. Convolutional translators (16 channels).",
                  dict(_DIGITS, family="cyclegan", source="digits", dataset="digits_inverted", ngf=16,
                       lr_g=2e-4, lr_d=2e-4)),
    "cycle_digits_mnist": ("CycleGAN from the 8x8 digits (scaled to 28x28) to MNIST's handwriting and back; the "
                           "cycle keeps the digit (evaluate reports label_kept: how often MNIST's classifier names "
                           "the source digit). Needs MNIST (downloads once, or the data dir).",
                           dict(_DCGAN28, family="cyclegan", source="digits", dataset="mnist", ngf=16, g_norm="none",
                                batch_size=32)),
})


def preset_names() -> list[str]:
    return list(PRESETS)


def preset_config(name: str, **overrides) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choices: {list(PRESETS)}")
    return Config().replace(**{**PRESETS[name][1], **overrides})
