"""Auxiliary-classifier GAN (Odena et al. 2017): G takes the class label; D has no label input but a second
head on its features that classifies real and fake images. D minimises adversarial + classification loss on
both; G minimises its adversarial loss + classification loss on its fakes (so it makes recognisable classes).
Live: the auxiliary head's accuracy on real and on fake images."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.build import feature_head, need_classes, standard_nets
from .adversarial import adversarial_step
from .base import Chart, Family, Overview
from .evaluation import class_agreement
from .gan import _check_labels


def _build(m, shape, classes, image) -> dict:
    need_classes(classes)
    nets = standard_nets(m, shape, classes, image)  # D with no projection: the label goes to the head
    nets["D"].aux = feature_head(nets["D"], classes)
    return nets


def _d_extra(tr, h_real, h_fake, y, z, parts):
    logits_real = tr.D.aux(h_real)
    with torch.no_grad():
        parts["aux_acc_real"] = (logits_real.argmax(1) == y).float().mean().view(1)
    loss = F.cross_entropy(logits_real, y)
    if tr.cfg.loss.aux_fake_weight > 0:  # Odena et al. also train the head on G's images
        loss = loss + tr.cfg.loss.aux_fake_weight * F.cross_entropy(tr.D.aux(h_fake), y)
    return tr.cfg.loss.aux_weight * loss


def _g_extra(tr, h_fake, y, z, parts):
    logits = tr.D.aux(h_fake)
    with torch.no_grad():
        parts["aux_acc_fake"] = (logits.argmax(1) == y).float().mean().view(1)
    return tr.cfg.loss.aux_weight * F.cross_entropy(logits, y)


def _step(tr, which: str, parts: dict) -> None:
    adversarial_step(tr, which, parts, d_extra=_d_extra, g_extra=_g_extra)


FAMILY = Family(
    "acgan", "AC-GAN", "D also names the class of every image; G is rewarded when its digit is recognisable.",
    build=_build, step=_step, labels="data", check=_check_labels,
    metrics=("aux_acc_real", "aux_acc_fake"),
    overview=Overview(real="x, y", d="D + class head", out="p(real), class",
                      out_values=(("real", "d_real_mean"), ("fake", "d_fake_mean"), ("class", "aux_acc_fake"))),
    charts=(Chart("Auxiliary classifier accuracy", ("aux_acc_real", "aux_acc_fake"),
                  "How often D's class head names the right class: on real images (it learns the classes) and "
                  "on G's images (G makes the class it was asked for). Both near 1 is the goal.", "accuracy",
                  names=("on real images", "on G's images")),),
    evaluate=lambda view, clf, n: class_agreement(view, clf, n), live_fields=("aux_weight", "aux_fake_weight"))
