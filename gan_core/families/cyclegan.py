"""CycleGAN (Zhu et al. 2017): translate between two domains without pairs. G_AB maps a sample of domain A
(``data.source``) to domain B (``data.dataset``), G_BA back; D_B tells real B from G_AB's translations, D_A
real A from G_BA's. G also pays for the cycle error |G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b| (L1, weight
``loss.cycle_weight``) and, optionally, the identity error |G_AB(b) - b| + |G_BA(a) - a| (``loss.identity_weight``
times the cycle weight): the cycle keeps what a translation carries (the digit), not only its style.

The A -> B game is the run's main game: its losses, D accuracy and D(x) fill the usual charts, and the live
diagnostics judge G_AB's translations against domain B. The B -> A game and the cycle errors are this
family's own metrics."""
from __future__ import annotations

import torch

from ..models.build import discriminator
from ..models.translator import CycleD, CycleG, translator
from .adversarial import d_apply, d_loss, g_apply, judge, r1_factor, real_target, record_d
from .base import Chart, Family, Overview


def _build(m, shape, classes, image) -> dict:
    g = CycleG(translator(m, shape, image), translator(m, shape, image), shape, image)
    return {"G": g, "D": CycleD(discriminator(m, shape), discriminator(m, shape))}


def _batches(tr, batch: int) -> tuple:
    real_a, _ = tr.source.sample(batch, tr.gen, tr.device)
    real_b, _ = tr.data.sample(batch, tr.gen, tr.device)
    return real_a, real_b


def _step(tr, which: str, parts: dict) -> None:
    G, D, spec, lc = tr.G, tr.D, tr.loss, tr.cfg.loss
    batch, std, target = tr.cfg.train.batch_size, tr.noise_std(), real_target(tr)
    fake_b = None
    if which in ("both", "d"):
        for k in range(tr.cfg.train.d_steps):
            keep_graph = which == "both" and k == tr.cfg.train.d_steps - 1  # reuse these for the G step
            real_a, real_b = _batches(tr, batch)
            with torch.set_grad_enabled(keep_graph):
                fake_b, fake_a = G.ab(real_a), G.ba(real_b)
            r1 = r1_factor(tr)
            game_b = d_loss(tr, D.b, real_b, fake_b.detach(), None, spec, target, std, r1)
            game_a = d_loss(tr, D.a, real_a, fake_a.detach(), None, spec, target, std, r1)
            d_apply(tr, game_b[0] + game_a[0], spec)
            record_d(tr, spec, *game_b[1:5], parts)
            parts["d_a_loss"] = game_a[0].detach().view(1)
    if which in ("both", "g"):
        if fake_b is None:
            real_a, real_b = _batches(tr, batch)
            fake_b, fake_a = G.ab(real_a), G.ba(real_b)
        adv_ab = spec.g(judge(D.b, tr._noisy(fake_b, std), None)[0])
        adv_ba = spec.g(judge(D.a, tr._noisy(fake_a, std), None)[0])
        cycle_a = (G.ba(fake_b) - real_a).abs().mean()  # A -> B -> A
        cycle_b = (G.ab(fake_a) - real_b).abs().mean()  # B -> A -> B
        loss = adv_ab + adv_ba + lc.cycle_weight * (cycle_a + cycle_b)
        with torch.set_grad_enabled(lc.identity_weight > 0):  # measured either way: a live metric
            identity = (G.ab(real_b) - real_b).abs().mean() + (G.ba(real_a) - real_a).abs().mean()
        if lc.identity_weight > 0:
            loss = loss + lc.identity_weight * lc.cycle_weight * identity
        g_apply(tr, loss, adv_ab, parts)
        with torch.no_grad():
            parts["g_ba_loss"] = adv_ba.detach().view(1)
            parts["cycle_a"] = cycle_a.detach().view(1)
            parts["cycle_b"] = cycle_b.detach().view(1)
            parts["identity"] = identity.detach().view(1)


def _check(cfg) -> None:
    d = cfg.data
    if not d.source:
        raise ValueError("model.family = 'cyclegan' needs data.source: domain A, the dataset G translates from "
                         "(e.g. source=digits with dataset=digits_inverted)")
    if cfg.loss.r1_gamma > 0:
        raise ValueError("loss.r1_gamma must be 0 for model.family = 'cyclegan' (R1 is not implemented for its two "
                         "discriminators)")
    if cfg.model.g_norm == "batch":
        raise ValueError("model.g_norm = 'batch' is not used by CycleGAN's translators (the convolutional one has "
                         "instance norm); use 'none'")


def label_kept(view, classifier, n: int = 2000) -> dict:
    """The fraction of translations the target domain's classifier labels as their source's digit."""
    labels = view.source_labels
    if labels is None or classifier is None:
        return {}
    said, asked = [], []
    gen = torch.Generator().manual_seed(3)
    for i in range(0, n, 500):
        x, y = view.inputs(min(500, n - i), gen, with_labels=True)
        said.append(classifier.predict(view.generate(x)).cpu())
        asked.append(y)
    said, asked = torch.cat(said), torch.cat(asked)
    per = [float((said[asked == c] == c).float().mean()) for c in range(int(asked.max()) + 1) if (asked == c).any()]
    return {"label_kept": float((said == asked).float().mean()), "label_kept_per_class": per}


FAMILY = Family(
    "cyclegan", "CycleGAN",
    "Translate between two domains without pairs: G_AB and G_BA, one D per domain, and a cycle A → B → A that "
    "must come back to where it started.",
    build=_build, step=_step, check=_check, g_input="source",
    metrics=("d_a_loss", "g_ba_loss", "cycle_a", "cycle_b", "identity"),
    overview=Overview(g="G_AB + G_BA", fake="G_AB(a)", real="b", d="D_B + D_A",
                      g_values=(("loss", "g_loss"), ("cycle", "cycle_a")),
                      d_values=(("D_B", "d_loss"), ("D_A", "d_a_loss"))),
    charts=(Chart("The B → A game", ("d_a_loss", "g_ba_loss"),
                  "The second adversarial game: D_A tells real A from G_BA's translations of B (the A → B game is "
                  "in the charts above).", "loss", names=("D_A loss", "G_BA loss")),
            Chart("Cycle consistency", ("cycle_a", "cycle_b", "identity"),
                  "Mean |G_BA(G_AB(a)) − a| and |G_AB(G_BA(b)) − b|: how well a round trip comes back (falls as "
                  "the two translators become inverses); identity: how much each G changes a sample of its own "
                  "output domain.", "L1 error", names=("A → B → A", "B → A → B", "identity"))),
    evaluate=label_kept, live_fields=("cycle_weight", "identity_weight"), setup_fields=("source", "source_path"),
    extra_d_passes=lambda cfg: 3)
