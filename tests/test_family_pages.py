"""AppTest: the pages show a GAN family's own panel — its live charts and fields on the Train page, the
family choice in Setup, and InfoGAN's Codes tab in the Latent lab — all drawn from what the family declares."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from helpers_ui import (attached, chart_with, clean_registry, error_texts, new_session, rendered, vega_charts,  # noqa: F401
                        wait_until)

from gan_core.families import FAMILIES  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from ui.runs import get_registry  # noqa: E402

pytestmark = pytest.mark.usefixtures("clean_registry")


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return rendered(at)


def on_preset(name: str, steps: int = 0, **overrides):
    """A Train-page session whose run was rebuilt from ``name`` and trained ``steps`` steps."""
    at = rendered(new_session())
    run, _ = get_registry().replace(attached(at), preset_config(name, **overrides), preset=name)
    at.query_params["run"] = run.id
    for _ in range(steps):
        run.trainer.step()
    if steps:
        run.step_once()
    rendered(at)
    assert attached(at) is run
    return at, run


@pytest.mark.parametrize("preset", ["digits_acgan", "digits_infogan", "digits_began", "cycle_ink"])
def test_train_page_draws_the_family_charts_by_name(preset):
    at, run = on_preset(preset, steps=5, batch_size=16)
    family = FAMILIES[run.config.model.family]
    chart = chart_with(at, "family")
    titles = [p["title"] for p in chart["spec"]["hconcat"]]
    assert titles == [c.title for c in family.charts]
    data = chart["data"]["family"]
    assert set(data["series"]) == {c.label(col) for c in family.charts for col in c.columns}
    assert len(data) and data["value"].notna().all()
    assert any(family.charts[0].title in c.value for c in at.caption)
    assert len(chart_with(at, "train")["data"]["train"])  # the shared charts are still there


def test_plain_gan_has_no_family_chart():
    at, run = on_preset("ring8", steps=3)
    assert not [c for c in vega_charts(at) if "family" in c["data"]]


def test_infogan_chart_marks_the_log_k_bound():
    at, run = on_preset("digits_infogan", steps=3, batch_size=16)
    spec = chart_with(at, "family")["spec"]
    lines = [layer["data"]["values"][0] for layer in spec["hconcat"][0]["layer"] if "data" in layer]
    assert lines and lines[0]["y"] == pytest.approx(2.302585, abs=1e-5)


def test_family_live_field_is_shown_and_applied():
    at, run = on_preset("ring8_unrolled")
    field = at.number_input(key="live_unroll_steps")
    assert field.value == 5 and field.label.startswith("Unroll D steps")
    field.set_value(2)
    rendered(at)
    assert run.config.train.unroll_steps == 2
    assert not [w for w in at.number_input if w.key == "live_began_gamma"]  # another family's field: absent


def test_loss_choice_is_disabled_for_a_family_with_its_own_loss():
    at, run = on_preset("digits_began", batch_size=16)
    assert at.selectbox(key="live_loss").disabled
    at2, _ = on_preset("digits_acgan", batch_size=16)
    assert not at2.selectbox(key="live_loss").disabled


def test_setup_offers_every_family_and_starts_the_chosen_one():
    at = rendered(new_session())
    old = attached(at)
    click(at, "btn_setup")
    kind = at.selectbox(key="setup_family")
    assert list(kind.options) == [f"{f.title} ({n})" for n, f in FAMILIES.items()]
    at.selectbox(key="setup_dataset").set_value("digits")
    kind.set_value("infogan")
    rendered(at)
    assert at.number_input(key="setup_info_categories").value == 10  # the family's own setup field
    at.number_input(key="setup_z_dim").set_value(12)
    rendered(at)
    click(at, "btn_setup_start")
    new = attached(at)
    assert new is not old and new.config.model.family == "infogan" and new.trainer.num_classes == 10
    assert "info_mi" in new.history.names


def test_setup_refuses_a_family_the_data_cannot_serve():
    at = rendered(new_session())
    run = attached(at)
    click(at, "btn_setup")
    at.selectbox(key="setup_family").set_value("began")  # on ring8: 2D points
    rendered(at)
    click(at, "btn_setup_start")
    assert any("model.family = 'began' needs image data" in e for e in error_texts(at)), error_texts(at)
    assert attached(at) is run


def test_latent_lab_codes_tab_draws_the_paper_grid_and_code_sliders():
    at, run = on_preset("digits_infogan", steps=3, batch_size=16)
    at.switch_page("pages/latent.py")
    rendered(at)
    assert [t.label for t in at.tabs] == ["Sliders", "Interpolation", "Arithmetic", "Codes"]
    grids = [img for el in at.get("image") for img in el.proto.imgs if img.caption.startswith("Rows: categorical")]
    assert len(grids) == 1
    one = [img.url for el in at.get("image") for img in el.proto.imgs if img.caption == "G(noise, codes)"]
    assert at.slider(key="lat_code_c0").label == "Continuous code c1"
    at.slider(key="lat_code_c0").set_value(1.5)
    rendered(at)
    moved = [img.url for el in at.get("image") for img in el.proto.imgs if img.caption == "G(noise, codes)"]
    assert one and moved and one != moved  # the code slider changes the picture
    labels = [s.label for s in at.slider]
    assert "z[17] = continuous code c2" in labels  # the Sliders tab shows the codes as such
    assert at.selectbox(key="lat_class").label == "Categorical code"


def test_latent_lab_has_no_codes_tab_without_codes():
    at, run = on_preset("digits_cgan", batch_size=16)
    at.switch_page("pages/latent.py")
    rendered(at)
    assert "Codes" not in [t.label for t in at.tabs]


# ---------------------------------------------------------------- CycleGAN

def test_cyclegan_train_page_shows_the_translation_strip():
    at, run = on_preset("cycle_ink", steps=3, batch_size=16)
    strips = [img for el in at.get("image") for img in el.proto.imgs if img.caption.startswith("Rows in threes")]
    assert len(strips) == 1
    h, w = run.snapshot()["visual"]["grid"].shape[:2]
    assert (h, w) == (6 * 9 + 1, 8 * 9 + 1)  # 16 images of 8 px: rows A, A -> B, A -> B -> A, twice


def test_cyclegan_2d_picture_draws_domain_a_and_arrows_to_the_translations():
    at, run = on_preset("cycle_toy", steps=20)
    chart = chart_with(at, "points")
    points, arrows = chart["data"]["points"], chart["data"]["arrows"]
    assert set(points["kind"]) == {"domain A", "A → B (G_AB)", "domain B"}
    visual = run.snapshot()["visual"]
    want = visual["arrow_xy"] + visual["arrow_uv"]  # each arrow ends where G_AB sends its point
    assert abs(arrows[["x2", "y2"]].to_numpy() - want).max() < 1e-5
    fake = visual["fake"][:len(want)]
    assert abs(want - fake).max() < 1e-5
    assert any("domain A" in c.value and "G_AB" in c.value for c in at.caption)


def test_cyclegan_latent_lab_is_the_translate_panel():
    at, run = on_preset("cycle_ink", steps=3, batch_size=16)
    at.switch_page("pages/latent.py")
    rendered(at)
    assert not at.tabs  # no latent space: no sliders, interpolation or arithmetic tabs

    def shown():
        return {img.caption: img.url for el in at.get("image") for img in el.proto.imgs
                if img.caption in ("A", "A → B", "A → B → A")}
    first = shown()
    assert set(first) == {"A", "A → B", "A → B → A"}
    assert any("Round-trip error" in c.value for c in at.caption)
    at.slider(key="tr_pick").set_value(5)
    rendered(at)
    assert shown()["A"] != first["A"]  # another image of domain A, translated
    at.radio(key="tr_direction").set_value("B → A (G_BA)")
    rendered(at)
    assert not shown() and any("Upload an image of domain B" in i.value for i in at.info)


def test_setup_starts_a_cyclegan_with_its_domain_a_field():
    at = rendered(new_session())
    click(at, "btn_setup")
    at.selectbox(key="setup_family").set_value("cyclegan")
    rendered(at)
    click(at, "btn_setup_start")  # ring8 and no domain A: refused, naming the field
    assert any("needs data.source" in e for e in error_texts(at)), error_texts(at)
    at.selectbox(key="setup_dataset").set_value("quadratic")
    at.selectbox(key="setup_source").set_value("line")
    rendered(at)
    click(at, "btn_setup_start")
    new = attached(at)
    assert new.config.model.family == "cyclegan" and new.config.data.source == "line"
    assert new.trainer.source is not None and "cycle_a" in new.history.names
