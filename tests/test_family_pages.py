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


@pytest.mark.parametrize("preset", ["digits_acgan", "digits_infogan", "digits_began"])
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
