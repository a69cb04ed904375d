"""What untrained generators draw (gan_core.untrained): a constant input through transposed convolutions repeats
with a period that doubles per transposed layer, through resize-convolutions stays flat inside; the measures
on hand-made patterns; and the Upsampling page's "Untrained generators" tab (AppTest)."""
from __future__ import annotations

import pytest
import torch

from helpers_ui import clean_registry, new_session, rendered  # noqa: F401

from gan_core.untrained import interior, period, phase_share, untrained_output


@pytest.mark.parametrize("size, transposed_layers", [(28, 2), (32, 3), (64, 4)])
def test_a_constant_input_repeats_every_two_to_the_transposed_layers(size, transposed_layers):
    for mode in ("transposed", "transposed3"):
        img = untrained_output(mode, size, seed=3)
        assert img.shape == (size, size)
        assert period(img) == 2 ** transposed_layers, mode
    assert period(untrained_output("mixed", size, seed=3)) == 4  # transposed only in the last two layers
    flat = untrained_output("resize", size, seed=3)
    assert period(flat) == 1 and phase_share(flat) == 0.0
    assert float(flat.std()) > 0  # the borders do fall off: only the inside is flat


def test_random_z_hides_nothing_of_the_checkerboard_and_resize_has_none():
    t = untrained_output("transposed", 32, seed=0, source="random z")
    r = untrained_output("resize", 32, seed=0, source="random z")
    assert period(t) == 0 and period(r) == 0  # content on top: no exact repeat
    assert phase_share(t) > 0.3 and phase_share(r) < 0.02  # measured 0.52 and 0.001 (seed 0)


def test_same_seed_same_picture_and_the_callers_random_stream_is_left_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = untrained_output("transposed", 32, seed=5)
    assert torch.equal(torch.rand(3), before)
    assert torch.equal(untrained_output("transposed", 32, seed=5), a)
    assert not torch.equal(untrained_output("transposed", 32, seed=6), a)


def test_the_measures_on_hand_made_patterns():
    i, j = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    board = ((i + j) % 2).float()
    assert phase_share(board, 2) == pytest.approx(1.0) and period(board) == 2
    stripes4 = ((i % 4) < 2).float()
    assert phase_share(stripes4, 2) == pytest.approx(0.0) and period(stripes4) == 4
    noise = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    assert phase_share(noise, 2) < 0.05 and period(noise) == 0
    assert period(torch.full((8, 8), 0.3)) == 1
    assert interior(torch.zeros(32, 32)).shape == (16, 16)


@pytest.mark.parametrize("args, message", [(("bilinear",), "upsample 'bilinear' is not one of"),
                                           (("resize", 48), "size 48 is not one of"),
                                           (("resize", 32, 0, "zeros"), "input 'zeros' is not one of")])
def test_bad_choices_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        untrained_output(*args)


@pytest.mark.usefixtures("clean_registry")
def test_the_untrained_generators_tab_draws_the_four_kinds_and_marks_the_runs_choice():
    from gan_core.presets import preset_config
    from helpers_ui import attached
    from ui.runs import get_registry
    at = rendered(new_session())
    cfg = preset_config("digits", arch="dcgan", image_size=28, ngf=4, ndf=4, z_dim=4, batch_size=4)
    run, _ = get_registry().replace(attached(at), cfg)  # a DCGAN run on the shipped digits: its choice is marked
    at.query_params["run"] = run.id
    at.switch_page("pages/upsampling.py")
    rendered(at)
    heads = [m.value for m in at.markdown if m.value.startswith(("**transposed", "**resize", "**mixed"))]
    assert len(heads) == 4
    assert [h for h in heads if "this run's" in h] == ["**transposed k4 s2** · *this run's*"]
    urls = [img.url for el in at.get("image") for img in el.proto.imgs]
    assert len(urls) == 4 and len(set(urls)) == 3  # at 28 px "mixed" is transposed in both of its two layers
    assert urls[0] == urls[2]  # (order: transposed, transposed3, mixed, resize)
    captions = [c.value for c in at.caption]
    assert at.selectbox(key="ut_size").value == 28  # the run's image size first
    assert sum("Repeats exactly every **4 pixels**" in c for c in captions) == 3  # 7x7 doubled twice: all three
    assert sum(c.startswith("Flat inside") for c in captions) == 1  # resize
    at.selectbox(key="ut_size").set_value(32)
    rendered(at)
    urls = [img.url for el in at.get("image") for img in el.proto.imgs]
    assert len(set(urls)) == 4
    captions = [c.value for c in at.caption]
    assert sum("Repeats exactly every **8 pixels**" in c for c in captions) == 2  # both transposed kinds at 32 px
    assert sum("Repeats exactly every **4 pixels**" in c for c in captions) == 1  # mixed
    assert sum(c.startswith("Flat inside") for c in captions) == 1  # resize
    at.selectbox(key="ut_size").set_value(64)
    rendered(at)
    assert sum("Repeats exactly every **16 pixels**" in c.value for c in at.caption) == 2
    at.radio(key="ut_source").set_value("random z")
    rendered(at)
    assert not any("Repeats exactly" in c.value or c.value.startswith("Flat inside") for c in at.caption)
    assert sum("No exact repeat" in c.value for c in at.caption) == 4

